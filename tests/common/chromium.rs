//! Real headless Chromium (Debian's `chromium`, installed by
//! scripts/install-reference-tools.sh) for the HTML report's tests: the DOM as the browser
//! built it (`--dump-dom`), a screenshot, and a loopback server that serves one page and
//! logs every request made to it.
//!
//! Every run gets a fresh profile directory, no GPU, no QUIC, no background services, and
//! host resolver rules that send every name but 127.0.0.1 nowhere: whatever the page tried
//! to fetch from another host would fail, and anything it fetched from its own server is in
//! that server's log. Without chromium the tests skip, saying so on stderr, except under
//! `CI=true`, where they fail. `MIRRORPROOF_CHROMIUM` names another binary.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A whole browser run (start, load, render, exit) takes a second or two here; this only
/// stops a hung one from hanging the suite.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Chromium {
    bin: PathBuf,
}

impl Chromium {
    /// The browser, or `None` (after a loud message) when it is not installed outside CI.
    pub fn get() -> Option<Chromium> {
        if let Some(bin) = std::env::var_os("MIRRORPROOF_CHROMIUM").filter(|b| !b.is_empty()) {
            return Some(Chromium { bin: bin.into() });
        }
        for name in ["chromium", "chromium-browser"] {
            if let Some(bin) = in_path(name) {
                return Some(Chromium { bin });
            }
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is not installed under CI: the HTML report tests cannot run \
             (scripts/install-reference-tools.sh installs Debian's chromium)"
        );
        // Straight to the process's stderr: the test harness would capture eprintln!.
        let _ = std::io::stderr().write_all(
            b"\n*** html_report: SKIPPED, chromium (Debian's package `chromium`) is not installed.\n\
              *** Install it with scripts/install-reference-tools.sh.\n\n",
        );
        None
    }

    /// The DOM after the page loaded, as the browser serialises it.
    pub fn dump_dom(&self, url: &str) -> String {
        let out = self.run(&["--dump-dom".to_owned(), url.to_owned()]);
        String::from_utf8(out).expect("the DOM is UTF-8")
    }

    /// A PNG of the first `width` x `height` pixels of the page.
    pub fn screenshot(&self, url: &str, file: &Path, width: u32, height: u32) {
        self.run(&[
            format!("--screenshot={}", file.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".to_owned(),
            url.to_owned(),
        ]);
        assert!(
            file.exists(),
            "chromium wrote no screenshot at {}",
            file.display()
        );
    }

    /// One browser run; its standard output.
    fn run(&self, args: &[String]) -> Vec<u8> {
        let profile = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(&self.bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--mute-audio",
                "--disable-dev-shm-usage",
                // Every other host resolves to nothing; the page's own server is 127.0.0.1.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .env("HOME", profile.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        // Both pipes drained on their own threads, so a full pipe never stalls the browser.
        let mut stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let out = thread::spawn(move || {
            let mut v = Vec::new();
            let _ = stdout.read_to_end(&mut v);
            v
        });
        let err = thread::spawn(move || {
            let mut v = Vec::new();
            let _ = stderr.read_to_end(&mut v);
            v
        });
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for chromium") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within {RUN_TIMEOUT:?}: {args:?}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let out = out.join().expect("stdout reader");
        let err = err.join().expect("stderr reader");
        assert!(
            status.success(),
            "chromium failed ({status}): {args:?}\n{}",
            String::from_utf8_lossy(&err)
        );
        out
    }
}

fn in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A loopback HTTP server that answers `GET /` with one HTML page and everything else with
/// 404, and logs the request line of every request.
pub struct PageServer {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PageServer {
    pub fn start(page: Vec<u8>) -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        listener.set_nonblocking(true).expect("set_nonblocking");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (Arc::clone(&log), Arc::clone(&stop));
        let page = Arc::new(page);
        let thread = thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (log, page) = (Arc::clone(&log2), Arc::clone(&page));
                        thread::spawn(move || answer(stream, &page, &log));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        PageServer {
            port,
            log,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The request lines received so far (connections that sent nothing, as a browser's
    /// speculative preconnects do, are not requests).
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut stream: TcpStream, page: &[u8], log: &Mutex<Vec<String>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let Some(line) = head.lines().next().filter(|l| !l.is_empty()) else {
        return;
    };
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(line.to_owned());
    let response = if line.starts_with("GET / ") {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            page.len()
        )
        .into_bytes();
        r.extend_from_slice(page);
        r
    } else {
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
    };
    let _ = stream.write_all(&response);
}

/// Width and height of a PNG, from its IHDR chunk; panics on anything that is not one.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 33 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "not a PNG ({} bytes)",
        bytes.len()
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}
