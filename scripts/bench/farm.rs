//! Loopback mirror farm for scripts/bench-sweep.sh: thousands of mirror entries on a few
//! hundred loopback hosts, fast enough that the benchmark measures mirrorproof and not the
//! farm (the Python farm of bench.sh tops out at a few thousand requests per second on two
//! cores). Standard library only, built with `rustc -O`; listens on 127.0.0.0/8 only.
//!
//! Hosts (each its own listener: address and ephemeral port):
//!   * honest: 127.0.0.2, 127.0.0.3, ... (cycling over 90 addresses, then more ports):
//!     serve TREE for any path `/ENTRY/rest` -> TREE/rest (GET and HEAD), `Connection: close`;
//!   * silent: 127.0.0.101, ...: accept every connection, never send a byte, hold it
//!     (at most --max-held, oldest closed first);
//!   * junk: 127.0.0.201, ... (cycling over 50 addresses): answer any path with `200` and
//!     --junk-bytes bytes of junk.
//!
//! Writes a profile listing every entry (honest, silent and junk interleaved by a fixed
//! shuffle), and a ready file (JSON: the entry URLs of each kind, and the pid). Exits on
//! its own after --lifetime seconds; the benchmark script also kills it by pid.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

const COUNTRIES: [&str; 20] = [
    "FR", "DE", "US", "JP", "BR", "IN", "GB", "NL", "SE", "CA", "AU", "ZA", "KR", "SG", "ES",
    "IT", "PL", "CH", "FI", "NZ",
];

struct Args {
    tree: PathBuf,
    root_json: PathBuf,
    profile_out: PathBuf,
    ready_file: PathBuf,
    honest_hosts: usize,
    per_honest: usize,
    silent_hosts: usize,
    per_silent: usize,
    junk_hosts: usize,
    per_junk: usize,
    junk_bytes: usize,
    max_held: usize,
    lifetime: u64,
}

fn args() -> Args {
    let mut a = Args {
        tree: PathBuf::new(),
        root_json: PathBuf::new(),
        profile_out: PathBuf::new(),
        ready_file: PathBuf::new(),
        honest_hosts: 100,
        per_honest: 90,
        silent_hosts: 10,
        per_silent: 100,
        junk_hosts: 0,
        per_junk: 0,
        junk_bytes: 1 << 20,
        max_held: 8192,
        lifetime: 900,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i + 1 < v.len() {
        let (k, val) = (&v[i], &v[i + 1]);
        let n = || val.parse::<usize>().unwrap_or_else(|_| die(&format!("{k}: not a number")));
        match k.as_str() {
            "--tree" => a.tree = PathBuf::from(val),
            "--root-json" => a.root_json = PathBuf::from(val),
            "--profile-out" => a.profile_out = PathBuf::from(val),
            "--ready-file" => a.ready_file = PathBuf::from(val),
            "--honest-hosts" => a.honest_hosts = n(),
            "--per-honest" => a.per_honest = n(),
            "--silent-hosts" => a.silent_hosts = n(),
            "--per-silent" => a.per_silent = n(),
            "--junk-hosts" => a.junk_hosts = n(),
            "--per-junk" => a.per_junk = n(),
            "--junk-bytes" => a.junk_bytes = n(),
            "--max-held" => a.max_held = n(),
            "--lifetime" => a.lifetime = n() as u64,
            _ => die(&format!("unknown option {k}")),
        }
        i += 2;
    }
    if a.tree.as_os_str().is_empty() || a.profile_out.as_os_str().is_empty() {
        die("--tree, --root-json, --profile-out and --ready-file are required");
    }
    if a.silent_hosts > 100 || a.junk_hosts > 1000 {
        die("at most 100 silent hosts (127.0.0.101-200) and 1000 junk hosts");
    }
    a
}

fn die(msg: &str) -> ! {
    eprintln!("farm: {msg}");
    std::process::exit(2)
}

fn bind(addr: String) -> TcpListener {
    assert!(addr.starts_with("127."), "loopback only");
    TcpListener::bind(format!("{addr}:0")).unwrap_or_else(|e| die(&format!("bind {addr}: {e}")))
}

fn main() {
    let a = args();
    let lifetime = a.lifetime;
    thread::spawn(move || {
        thread::sleep(Duration::from_secs(lifetime));
        std::process::exit(3);
    });
    let tree = Arc::new(a.tree.canonicalize().unwrap_or_else(|e| die(&format!("tree: {e}"))));
    let junk: Arc<Vec<u8>> = Arc::new(vec![b'j'; a.junk_bytes]);
    let held: Arc<Mutex<VecDeque<TcpStream>>> = Arc::new(Mutex::new(VecDeque::new()));

    let mut entries: Vec<(String, &'static str)> = Vec::new();
    let mut n = 0usize;
    let mut entry = |host: &str, kind: &'static str, entries: &mut Vec<(String, &'static str)>| {
        entries.push((format!("http://{host}/m{n:05}/"), kind));
        n += 1;
    };
    for i in 0..a.honest_hosts {
        let l = bind(format!("127.0.0.{}", 2 + i % 90));
        let host = l.local_addr().map(|x| x.to_string()).unwrap_or_default();
        let tree = tree.clone();
        thread::spawn(move || accept(l, move |c| honest(c, &tree)));
        for _ in 0..a.per_honest {
            entry(&host, "honest", &mut entries);
        }
    }
    for i in 0..a.silent_hosts {
        let l = bind(format!("127.0.0.{}", 101 + i));
        let host = l.local_addr().map(|x| x.to_string()).unwrap_or_default();
        let (held, max) = (held.clone(), a.max_held);
        thread::spawn(move || {
            for c in l.incoming().flatten() {
                if let Ok(mut h) = held.lock() {
                    h.push_back(c);
                    while h.len() > max {
                        h.pop_front();
                    }
                }
            }
        });
        for _ in 0..a.per_silent {
            entry(&host, "silent", &mut entries);
        }
    }
    for i in 0..a.junk_hosts {
        let l = bind(format!("127.0.0.{}", 201 + i % 50));
        let host = l.local_addr().map(|x| x.to_string()).unwrap_or_default();
        let junk = junk.clone();
        thread::spawn(move || accept(l, move |c| answer_junk(c, &junk)));
        for _ in 0..a.per_junk {
            entry(&host, "junk", &mut entries);
        }
    }

    // A fixed shuffle (xorshift), so every run lists the entries in the same order.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..entries.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        entries.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let root = a.root_json.canonicalize().unwrap_or_else(|e| die(&format!("root: {e}")));
    let mut profile = format!(
        "name = \"benchfarm\"\nroot = {:?}\nchannel = \"stable\"\n",
        root.display().to_string()
    );
    for (i, (url, _)) in entries.iter().enumerate() {
        profile.push_str(&format!(
            "\n[[mirrors]]\nurl = {url:?}\ncountry = \"{}\"\n",
            COUNTRIES[i % COUNTRIES.len()]
        ));
    }
    std::fs::write(&a.profile_out, profile).unwrap_or_else(|e| die(&format!("profile: {e}")));
    let list = |kind: &str| {
        let urls: Vec<String> = entries
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(u, _)| format!("{u:?}"))
            .collect();
        format!("[{}]", urls.join(","))
    };
    let ready = format!(
        "{{\"honest\":{},\"silent\":{},\"junk\":{},\"pid\":{}}}",
        list("honest"),
        list("silent"),
        list("junk"),
        std::process::id()
    );
    let tmp = a.ready_file.with_extension("tmp");
    std::fs::write(&tmp, ready).unwrap_or_else(|e| die(&format!("ready: {e}")));
    std::fs::rename(&tmp, &a.ready_file).unwrap_or_else(|e| die(&format!("ready: {e}")));
    loop {
        thread::sleep(Duration::from_secs(3600));
    }
}

fn accept(l: TcpListener, serve: impl Fn(TcpStream) + Send + Sync + Clone + 'static) {
    for c in l.incoming().flatten() {
        let serve = serve.clone();
        // If no thread can be had, the connection is closed: the client sees an error.
        let _ = thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || serve(c));
    }
}

/// The request line's method and path, once the head has arrived (at most 16 KiB).
fn request(c: &mut TcpStream) -> Option<(String, String)> {
    let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return None;
        }
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(k) => head.extend_from_slice(&buf[..k]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next()?.split(' ');
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}

fn respond(c: &mut TcpStream, status: &str, body: &[u8], head_only: bool) {
    let _ = c.set_write_timeout(Some(Duration::from_secs(30)));
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = c.write_all(head.as_bytes());
    if !head_only {
        let _ = c.write_all(body);
    }
    let _ = c.shutdown(Shutdown::Write);
    // Read what the client may still send, so closing does not reset the answer away.
    let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 512];
    while matches!(c.read(&mut sink), Ok(k) if k > 0) {}
}

fn honest(mut c: TcpStream, tree: &Path) {
    let Some((method, path)) = request(&mut c) else {
        return;
    };
    let rest = path.trim_start_matches('/').split_once('/').map(|x| x.1).unwrap_or("");
    let rel = Path::new(rest);
    let safe = rel.components().all(|p| matches!(p, Component::Normal(_)));
    match std::fs::read(tree.join(rel)).ok().filter(|_| safe && !rest.is_empty()) {
        Some(body) => respond(&mut c, "200 OK", &body, method == "HEAD"),
        None => respond(&mut c, "404 Not Found", b"", method == "HEAD"),
    }
}

fn answer_junk(mut c: TcpStream, junk: &[u8]) {
    if let Some((method, _)) = request(&mut c) {
        respond(&mut c, "200 OK", junk, method == "HEAD");
    }
}
