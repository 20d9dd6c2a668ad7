//! The real readers of the report formats, as CI systems and monitoring run them:
//! `promtool` (Prometheus' own checker and rule tester), node_exporter's textfile collector,
//! and `junitparser` (a JUnit reader used by CI tooling) under Debian's python3, which parses
//! with a strict XML parser. `scripts/install-reference-tools.sh` installs all three from
//! Debian's packages. A reader that is missing fails the test under `CI=true`; elsewhere the
//! test says so on stderr and skips.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The python that Debian's `python3-junitparser` installs for (not a pyenv or venv one).
pub const PYTHON: &str = "/usr/bin/python3";

fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether `what` can be used; when it cannot, fails under CI and otherwise says that
/// `test` skips.
pub fn available(what: &str, present: bool, test: &str) -> bool {
    if present {
        return true;
    }
    assert!(
        !under_ci(),
        "{what} is not installed under CI: run scripts/install-reference-tools.sh"
    );
    eprintln!(
        "skipped {test}: {what} is not installed (scripts/install-reference-tools.sh installs it)"
    );
    false
}

/// A program on PATH (or an absolute path that exists).
pub fn find(program: &str) -> Option<PathBuf> {
    let p = Path::new(program);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_owned());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|c| c.is_file())
    })
}

pub fn has_promtool(test: &str) -> bool {
    available("promtool", find("promtool").is_some(), test)
}

pub fn has_node_exporter(test: &str) -> bool {
    available(
        "prometheus-node-exporter",
        find("prometheus-node-exporter").is_some(),
        test,
    )
}

pub fn has_junitparser(test: &str) -> bool {
    let present = Command::new(PYTHON)
        .args(["-c", "import junitparser"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    available("junitparser for /usr/bin/python3", present, test)
}

/// `promtool ARGS...` with `stdin` as its standard input.
pub fn promtool(args: &[&str], cwd: &Path, stdin: &[u8]) -> Output {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    // promtool reads all of its input before it answers; a write error means it exited
    // early, which its exit status reports.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("promtool output")
}

/// `promtool check metrics` on an exposition: its exit status and what it said. It reads
/// the text with Prometheus' own parser and lints names, types and help.
pub fn check_metrics(text: &str, cwd: &Path) -> (bool, String) {
    let out = promtool(&["check", "metrics"], cwd, text.as_bytes());
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// What junitparser reads from a JUnit file: for the document and each suite, the counts
/// the file claims and the ones counted from its test cases; each case's name, classname
/// and results (`failure`, `skipped`, `error`, with type and message).
const JUNIT_SUMMARY: &str = r#"
import json, sys
from junitparser import JUnitXml, Properties
doc = JUnitXml.fromfile(sys.argv[1])
suites = []
for s in doc:
    cases = []
    for c in s:
        results = [{"tag": type(r).__name__.lower(), "type": r.type, "message": r.message}
                   for r in c.result]
        props = {}
        for p in c.iterchildren(Properties):
            for q in p:
                props[q.name] = q.value
        cases.append({"name": c.name, "classname": c.classname, "results": results,
                      "properties": props})
    counted = {k: sum(1 for c in cases for r in c["results"] if r["tag"] == k)
               for k in ("failure", "skipped", "error")}
    suites.append({"name": s.name, "tests": s.tests, "failures": s.failures,
                   "skipped": s.skipped, "errors": s.errors, "cases": cases,
                   "counted": counted})
print(json.dumps({"tests": doc.tests, "failures": doc.failures, "skipped": doc.skipped,
                  "errors": doc.errors, "suites": suites}))
"#;

/// The JUnit file as junitparser reads it (see [`JUNIT_SUMMARY`]). Panics, with what the
/// reader said, when it cannot read the file: a CI system could not either.
pub fn junitparser(file: &Path) -> Value {
    let out = Command::new(PYTHON)
        .args(["-c", JUNIT_SUMMARY])
        .arg(file)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "junitparser cannot read {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("summary is JSON")
}

/// node_exporter with only its textfile collector, on a loopback port, reading `dir`. The
/// process is ended when this is dropped.
pub struct NodeExporter {
    child: Child,
    addr: SocketAddr,
}

impl NodeExporter {
    pub fn start(dir: &Path) -> NodeExporter {
        // A free port: the listener is closed before node_exporter binds it.
        let addr = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port");
        let child = Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address={addr}"))
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!("--collector.textfile.directory={}", dir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-node-exporter");
        let mut exporter = NodeExporter { child, addr };
        // Bounded: 200 tries 25 ms apart, then the scrape says what went wrong.
        for _ in 0..200 {
            if TcpStream::connect(addr).is_ok() {
                break;
            }
            if let Ok(Some(status)) = exporter.child.try_wait() {
                panic!("prometheus-node-exporter exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        exporter
    }

    /// One scrape of `/metrics`, as Prometheus would make it.
    pub fn scrape(&self) -> String {
        let mut s = TcpStream::connect(self.addr).expect("connect to node_exporter");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.0\r\nHost: {}\r\nAccept: text/plain\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut body = Vec::new();
        s.read_to_end(&mut body).expect("read the scrape");
        let text = String::from_utf8(body).expect("the scrape is UTF-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{head}"
        );
        body.to_owned()
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One sample line: metric name, labels (unescaped) and value as written.
pub type Sample = (String, Vec<(String, String)>, String);

/// The samples of an exposition: one per line that is not a comment. Label values are
/// unescaped as Prometheus reads them.
pub fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("NAME{LABELS} VALUE");
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (
                n,
                parse_labels(rest.strip_suffix('}').expect("closing brace")),
            ),
            None => (series, Vec::new()),
        };
        out.push((name.to_owned(), labels, value.to_owned()));
    }
    out
}

fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'), "label {name} is quoted");
        let mut value = String::new();
        loop {
            match chars.next().expect("closing quote") {
                '\\' => match chars.next().expect("an escape") {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    c => panic!("unknown escape \\{c} in label {name}"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.push((name.trim_start_matches(',').to_owned(), value));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}
