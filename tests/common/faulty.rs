//! A hostile mirror on the wire: a loopback HTTP/1.1 server (IPv4 `127.0.0.1` or IPv6
//! `[::1]`) that serves a mirror directory honestly, except for the paths a [`Fault`] is
//! set on, where it misbehaves: streams forever, trickles, never answers, hangs up, lies
//! about the length, redirects in circles or sends whatever bytes the test built.
//!
//! Only `std`: one accept thread plus one thread per connection. Each connection serves one
//! request and closes. Dropping the [`FaultServer`] stops every thread within about
//! [`POLL`] (they wake on short socket timeouts to look at a shared flag).
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(50);
const CHUNK: usize = 64 * 1024;
const MAX_HEAD: usize = 64 * 1024;

/// Which loopback address the server listens on.
#[derive(Clone, Copy, Debug)]
pub enum Loopback {
    V4,
    V6,
}

/// What the server does instead of serving a file honestly.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Reads the request, then never answers; the connection stays open until drop.
    Silent,
    /// Sends exactly these bytes (a whole response, half a status line, nothing), then closes.
    Raw(Arc<[u8]>),
    /// `200 OK`, then `len` filler bytes (`None`: forever), declaring `content_length`
    /// when given, whatever is really sent.
    Flood {
        len: Option<u64>,
        content_length: Option<u64>,
    },
    /// The real file with its true Content-Length, one byte every this long.
    Drip(Duration),
    /// `302` to this base URL plus the request path: another host answers.
    RedirectTo(String),
    /// `302` to the very same path, forever.
    RedirectLoop,
    /// The first GET of the path gets `first` (a whole response, as [`Fault::Raw`]); every
    /// later request gets the honest file: a mirror betting that a verifier asks twice.
    /// `gets` counts the GETs, shared by every clone.
    FirstGet {
        first: Arc<[u8]>,
        gets: Arc<AtomicU64>,
    },
}

impl Fault {
    /// `200` with this body and its true length.
    pub fn body(bytes: &[u8]) -> Fault {
        Fault::body_declaring(bytes, bytes.len() as u64)
    }

    /// `200` with this body, announcing `declared` bytes (a lie whenever they differ).
    pub fn body_declaring(bytes: &[u8], declared: u64) -> Fault {
        let length = format!("Content-Length: {declared}");
        Fault::Raw(response(200, &[&length], bytes).into())
    }

    /// `200` with this body and no Content-Length: the body ends when the server closes.
    pub fn body_until_close(bytes: &[u8]) -> Fault {
        Fault::Raw(response(200, &[], bytes).into())
    }

    /// This status, with a short text body.
    pub fn status(code: u16) -> Fault {
        let body = format!("{code}\n");
        let length = format!("Content-Length: {}", body.len());
        Fault::Raw(response(code, &[&length], body.as_bytes()).into())
    }

    /// Closes right after the request, having sent these bytes (maybe none).
    pub fn hang_up(bytes: &[u8]) -> Fault {
        Fault::Raw(bytes.into())
    }

    /// `200` with `tampered` (its true length) on the first GET, the real file afterwards.
    pub fn tampered_first(tampered: &[u8]) -> Fault {
        let length = format!("Content-Length: {}", tampered.len());
        Fault::FirstGet {
            first: response(200, &[&length], tampered).into(),
            gets: Arc::new(AtomicU64::new(0)),
        }
    }

    /// GETs a [`Fault::FirstGet`] has answered so far (0 for other faults).
    pub fn gets(&self) -> u64 {
        match self {
            Fault::FirstGet { gets, .. } => gets.load(Ordering::SeqCst),
            _ => 0,
        }
    }
}

/// A raw HTTP/1.1 response: status line, these header lines, `Connection: close`, body.
/// No Content-Length is added: the caller decides what (if anything) to declare.
pub fn response(status: u16, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Hostile\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A running hostile mirror. Stops when dropped.
pub struct FaultServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    root: PathBuf,
    /// (path suffix, fault): the first whose suffix ends the request path applies; the
    /// empty suffix matches every path.
    faults: Vec<(String, Fault)>,
    stop: AtomicBool,
    /// Bytes written to clients so far, over every connection.
    sent: AtomicU64,
}

impl FaultServer {
    /// Serves `root` on `on`, with `faults` on the paths they name.
    pub fn start(on: Loopback, root: &Path, faults: Vec<(&str, Fault)>) -> FaultServer {
        let bind = match on {
            Loopback::V4 => "127.0.0.1:0",
            Loopback::V6 => "[::1]:0",
        };
        let listener = TcpListener::bind(bind).unwrap_or_else(|e| panic!("bind {bind}: {e}"));
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            faults: faults.into_iter().map(|(s, f)| (s.to_owned(), f)).collect(),
            stop: AtomicBool::new(false),
            sent: AtomicU64::new(0),
        });
        let accepting = shared.clone();
        let accept = thread::spawn(move || {
            while !accepting.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let shared = accepting.clone();
                        thread::spawn(move || serve(conn, &shared));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FaultServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// An honest mirror: no faults.
    pub fn honest(on: Loopback, root: &Path) -> FaultServer {
        FaultServer::start(on, root, Vec::new())
    }

    /// `http://127.0.0.1:PORT/` or `http://[::1]:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Bytes written to clients so far: how much of an endless stream was taken.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.sent.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(POLL));
    let mut conn = Conn { stream, shared };
    let Ok((method, path)) = conn.read_request() else {
        return;
    };
    let fault = shared
        .faults
        .iter()
        .find(|(suffix, _)| path.ends_with(suffix.as_str()))
        .map(|(_, f)| f.clone());
    // Errors only mean the client went away or the server is stopping.
    let _ = match fault {
        None => conn.file(&path, method == "HEAD"),
        Some(f) => conn.fault(&f, &path, method == "HEAD"),
    };
    let _ = conn.stream.shutdown(Shutdown::Write);
    // Read what the client still sends, briefly, so closing does not reset the connection
    // under the response.
    let mut buf = [0u8; 4096];
    for _ in 0..4 {
        match conn.stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

struct Conn<'a> {
    stream: TcpStream,
    shared: &'a Shared,
}

impl Conn<'_> {
    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// Reads the request head; returns its method and path.
    fn read_request(&mut self) -> io::Result<(String, String)> {
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            if self.stopping() || head.len() > MAX_HEAD {
                return Err(io::ErrorKind::Other.into());
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => head.extend_from_slice(&buf[..n]),
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let text = String::from_utf8_lossy(&head);
        let mut words = text.split_ascii_whitespace();
        let method = words.next().unwrap_or_default().to_owned();
        let target = words.next().unwrap_or("/");
        let path = target.split(['?', '#']).next().unwrap_or("/").to_owned();
        Ok((method, path))
    }

    fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.stopping() {
                return Err(io::ErrorKind::Other.into());
            }
            match self.stream.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.shared.sent.fetch_add(n as u64, Ordering::SeqCst);
                    data = &data[n..];
                }
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn sleep(&self, mut left: Duration) -> io::Result<()> {
        while !left.is_zero() {
            if self.stopping() {
                return Err(io::ErrorKind::Other.into());
            }
            let step = left.min(POLL);
            thread::sleep(step);
            left -= step;
        }
        Ok(())
    }

    /// The honest path: the file under the root, or 404.
    fn file(&mut self, path: &str, head_only: bool) -> io::Result<()> {
        let Some(bytes) = read_file(&self.shared.root, path) else {
            return self.write(&response(404, &["Content-Length: 0"], b""));
        };
        let length = format!("Content-Length: {}", bytes.len());
        let body: &[u8] = if head_only { b"" } else { &bytes };
        self.write(&response(200, &[&length], body))
    }

    fn fault(&mut self, fault: &Fault, path: &str, head_only: bool) -> io::Result<()> {
        match fault {
            Fault::Silent => loop {
                self.sleep(POLL)?;
            },
            Fault::Raw(bytes) => self.write(bytes),
            Fault::Flood {
                len,
                content_length,
            } => {
                let length = content_length.map(|n| format!("Content-Length: {n}"));
                let headers: Vec<&str> = length.iter().map(String::as_str).collect();
                self.write(&response(200, &headers, b""))?;
                let chunk = [b'A'; CHUNK];
                let mut left = len.unwrap_or(u64::MAX);
                while left > 0 {
                    let n = left.min(CHUNK as u64) as usize;
                    self.write(&chunk[..n])?;
                    left -= n as u64;
                }
                Ok(())
            }
            Fault::Drip(every) => {
                let bytes = read_file(&self.shared.root, path).unwrap_or_default();
                let length = format!("Content-Length: {}", bytes.len());
                self.write(&response(200, &[&length], b""))?;
                for b in bytes {
                    self.write(&[b])?;
                    self.sleep(*every)?;
                }
                Ok(())
            }
            Fault::RedirectTo(base) => {
                let location = format!("Location: {base}{}", path.trim_start_matches('/'));
                self.write(&response(302, &[&location, "Content-Length: 0"], b""))
            }
            Fault::RedirectLoop => {
                let location = format!("Location: {path}");
                self.write(&response(302, &[&location, "Content-Length: 0"], b""))
            }
            Fault::FirstGet { .. } if head_only => self.file(path, true),
            Fault::FirstGet { first, gets } => {
                if gets.fetch_add(1, Ordering::SeqCst) == 0 {
                    self.write(first)
                } else {
                    self.file(path, false)
                }
            }
        }
    }
}

/// The file a request path names under `root`; `None` for anything that is not a plain
/// relative path to a regular file.
fn read_file(root: &Path, path: &str) -> Option<Vec<u8>> {
    let mut p = root.to_path_buf();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if seg == "." || seg == ".." || seg.contains('\\') || seg.contains('%') {
            return None;
        }
        p.push(seg);
    }
    if !p.is_file() {
        return None;
    }
    std::fs::read(p).ok()
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}
