//! A small, self-contained loopback HTTP/1.1 server used by integration tests
//! as a "mirror". Only `std` is used: one listener thread plus one thread per
//! connection. Every response carries `Connection: close` and the connection is
//! closed after it, so there is no keep-alive state to get wrong.
//!
//! Dropping the [`Server`] closes the listener at once and makes every
//! connection thread finish within a few hundred milliseconds (they poll a
//! shared shutdown flag through short socket timeouts). Drop never blocks on a
//! connection thread.
#![allow(dead_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How the server answers.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// Serve files from the root directory: GET and HEAD, 200 with
    /// Content-Length, 404 if missing, path traversal (`..`) refused with 404.
    /// The request path is percent-decoded.
    Normal,
    /// Accept TCP connections, never read or answer; hold them open until the
    /// server is dropped.
    NeverAnswer,
    /// Answer every request with this status and a short body.
    Status(u16),
    /// Normal, but send the body one byte at a time with this delay between
    /// bytes.
    SlowDrip(Duration),
    /// Normal for paths that do not end with the given suffix; for matching
    /// paths, send 200 with no Content-Length and an endless stream of bytes
    /// (`A`s) until the client goes away.
    EndlessOn(String),
}

/// A running loopback HTTP server. Stops when dropped.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

struct Shared {
    root: PathBuf,
    behavior: Behavior,
    shutdown: AtomicBool,
    requests: AtomicUsize,
    /// Method and decoded path of every parsed request, in arrival order.
    log: Mutex<Vec<(String, String)>>,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }
}

/// How often blocked threads wake up to look at the shutdown flag.
const POLL: Duration = Duration::from_millis(50);
/// Sleep of the accept loop when no connection is pending.
const ACCEPT_POLL: Duration = Duration::from_millis(2);
/// Largest request head (request line + headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Chunk size used when streaming bodies.
const CHUNK: usize = 64 * 1024;

impl Server {
    /// Start a server on `127.0.0.1:0` serving `root` with `behavior`.
    pub fn start(root: impl Into<PathBuf>, behavior: Behavior) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        // Non-blocking accept + short sleeps: the loop notices shutdown quickly
        // and Drop can never hang waiting for it.
        listener.set_nonblocking(true).expect("set_nonblocking");
        let shared = Arc::new(Shared {
            root: root.into(),
            behavior,
            shutdown: AtomicBool::new(false),
            requests: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("test-http-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn accept thread");
        Server {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    /// Start a server serving files from `root` ([`Behavior::Normal`]).
    pub fn serve_dir(root: impl Into<PathBuf>) -> Server {
        Server::start(root, Behavior::Normal)
    }

    /// The listening address (always 127.0.0.1 with an OS-assigned port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL with trailing slash, e.g. `http://127.0.0.1:40123/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.addr.port())
    }

    /// Number of requests received so far (parsed request lines).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Number of requests with this method (`GET`, `HEAD`) whose decoded path ends with
    /// `suffix`: how often one file was asked for.
    pub fn requests_for(&self, method: &str, suffix: &str) -> usize {
        let log = self.shared.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter()
            .filter(|(m, p)| m == method && p.ends_with(suffix))
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // The accept loop wakes every ACCEPT_POLL, sees the flag, and returns,
        // dropping (closing) the listener. Connection threads are detached and
        // end on their own within about POLL.
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, _peer)) => {
                let conn_shared = Arc::clone(&shared);
                let spawned = thread::Builder::new()
                    .name("test-http-conn".into())
                    .spawn(move || handle_connection(stream, conn_shared));
                // If a thread cannot be spawned the stream is dropped (closed).
                drop(spawned);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(ACCEPT_POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // e.g. ECONNABORTED or EMFILE: back off a little and keep going.
            Err(_) => thread::sleep(ACCEPT_POLL),
        }
    }
    // `listener` is dropped here, closing the listening socket.
}

fn handle_connection(stream: TcpStream, shared: Arc<Shared>) {
    // Accepted sockets may inherit O_NONBLOCK on some platforms; be explicit.
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(Some(POLL)).is_err()
        || stream.set_write_timeout(Some(POLL)).is_err()
    {
        return;
    }
    let _ = stream.set_nodelay(true);

    if let Behavior::NeverAnswer = shared.behavior {
        while !shared.stopping() {
            thread::sleep(POLL);
        }
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }

    let mut conn = Conn {
        stream,
        shared: &shared,
    };
    // Errors only mean "the client went away" or "we are shutting down".
    let _ = conn.serve_one();
    let _ = conn.stream.shutdown(Shutdown::Write);
    // Drain briefly so that closing with unread request bytes pending does not
    // turn into a RST that could clobber the response at the client.
    conn.drain();
}

struct Request {
    method: String,
    /// Decoded path (starts with '/'), without query or fragment.
    path: String,
}

struct Conn<'a> {
    stream: TcpStream,
    shared: &'a Shared,
}

impl Conn<'_> {
    fn serve_one(&mut self) -> io::Result<()> {
        let head = self.read_head()?;
        let req = match parse_head(&head) {
            Some(req) => req,
            None => return self.simple(400, "Bad Request", false),
        };
        self.shared.requests.fetch_add(1, Ordering::SeqCst);
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((req.method.clone(), req.path.clone()));
        let is_head = req.method == "HEAD";

        if let Behavior::Status(code) = self.shared.behavior {
            let reason = reason_phrase(code);
            return self.simple(code, reason, is_head);
        }

        if req.method != "GET" && req.method != "HEAD" {
            return self.simple(405, "Method Not Allowed", false);
        }

        if let Behavior::EndlessOn(suffix) = &self.shared.behavior
            && req.path.ends_with(suffix.as_str())
        {
            return self.endless(is_head);
        }

        let Some(file_path) = resolve(&self.shared.root, &req.path) else {
            return self.simple(404, "Not Found", is_head);
        };
        let (mut file, len) = match open_regular(&file_path) {
            Ok(v) => v,
            Err(_) => return self.simple(404, "Not Found", is_head),
        };
        let header = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        );
        self.write_all(header.as_bytes())?;
        if is_head {
            return Ok(());
        }
        match &self.shared.behavior {
            Behavior::SlowDrip(delay) => self.drip_file(&mut file, *delay),
            _ => self.stream_file(&mut file),
        }
    }

    /// Read until the end of the request head (`\r\n\r\n`). Any request body
    /// is ignored (GET/HEAD do not have one).
    fn read_head(&mut self) -> io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 4096];
        loop {
            if self.shared.stopping() {
                return Err(io::Error::other("shutdown"));
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    let search_from = head.len().saturating_sub(3);
                    head.extend_from_slice(&buf[..n]);
                    if let Some(pos) = find(&head[search_from..], b"\r\n\r\n") {
                        head.truncate(search_from + pos);
                        return Ok(head);
                    }
                    if head.len() > MAX_HEAD {
                        return Err(io::Error::other("request head too large"));
                    }
                }
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Write all of `data`, retrying on write timeouts until shutdown.
    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.shared.stopping() {
                return Err(io::Error::other("shutdown"));
            }
            match self.stream.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn simple(&mut self, code: u16, reason: &str, is_head: bool) -> io::Result<()> {
        // 1xx, 204 and 304 responses must not carry a body.
        if code < 200 || code == 204 || code == 304 {
            let header = format!("HTTP/1.1 {code} {reason}\r\nConnection: close\r\n\r\n");
            return self.write_all(header.as_bytes());
        }
        let body = format!("{code} {reason}\n");
        let header = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        self.write_all(header.as_bytes())?;
        if !is_head {
            self.write_all(body.as_bytes())?;
        }
        Ok(())
    }

    fn stream_file(&mut self, file: &mut File) -> io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.write_all(&buf[..n])?;
        }
    }

    fn drip_file(&mut self, file: &mut File, delay: Duration) -> io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let mut first = true;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            for i in 0..n {
                if !first {
                    self.sleep(delay)?;
                }
                first = false;
                self.write_all(&buf[i..i + 1])?;
            }
        }
    }

    /// Sleep for `total`, waking up to honour shutdown.
    fn sleep(&self, total: Duration) -> io::Result<()> {
        let mut left = total;
        while !left.is_zero() {
            if self.shared.stopping() {
                return Err(io::Error::other("shutdown"));
            }
            let step = left.min(POLL);
            thread::sleep(step);
            left -= step;
        }
        Ok(())
    }

    fn endless(&mut self, is_head: bool) -> io::Result<()> {
        let header = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
        self.write_all(header.as_bytes())?;
        if is_head {
            return Ok(());
        }
        let chunk = vec![b'A'; CHUNK];
        loop {
            self.write_all(&chunk)?;
        }
    }

    /// After the response: read (and discard) whatever the client still sends,
    /// until it closes, a short deadline passes, or shutdown.
    fn drain(&mut self) {
        let mut buf = [0u8; 4096];
        for _ in 0..4 {
            if self.shared.stopping() {
                return;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parse the request line; headers are accepted as-is and ignored.
fn parse_head(head: &[u8]) -> Option<Request> {
    let text = String::from_utf8_lossy(head);
    let line = text.split("\r\n").find(|l| !l.is_empty())?;
    let mut parts = line.split_ascii_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?;
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return None;
    }
    // Absolute-form ("http://host:port/path") as a proxy-style client sends.
    let target = match target.find("://") {
        Some(i) => {
            let rest = &target[i + 3..];
            match rest.find('/') {
                Some(j) => &rest[j..],
                None => "/",
            }
        }
        None => target,
    };
    let raw_path = target.split(['?', '#']).next().unwrap_or_default();
    let path = String::from_utf8(percent_decode(raw_path.as_bytes())).ok()?;
    Some(Request { method, path })
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%'
            && i + 2 < input.len()
            && let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    out
}

/// Map a decoded URL path onto a file below `root`. Refuses `..`, absolute
/// components, drive prefixes, backslashes and NUL bytes.
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    if path.contains('\0') || path.contains('\\') {
        return None;
    }
    let mut out = root.to_path_buf();
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." {
            continue;
        }
        let mut components = Path::new(segment).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(part)), None) => out.push(part),
            _ => return None,
        }
    }
    Some(out)
}

fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::ErrorKind::NotFound.into());
    }
    Ok((file, meta.len()))
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
