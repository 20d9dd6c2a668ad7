//! Hostile mirrors on the wire. Each test puts mirrors that misbehave in one way next to
//! two honest mirrors (one over IPv4, one over IPv6), runs the real `mirrorproof check` as
//! a user would, and asserts the principle: one hostile mirror never slows, crashes or
//! fools the check of the others. For every run:
//!
//! - the hostile mirror gets the status it deserves, with a one-line reason that says why;
//! - both honest mirrors are `ok`, and their own requests never waited for a hostile one;
//! - the run ends (a watchdog kills it after a generous bound and fails the test);
//! - the checker's peak resident memory (`VmHWM`) stays small, whatever was sent.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::faulty::{self, Fault, FaultServer, Loopback, Loopback::V4, Loopback::V6};
use common::*;
use serde_json::Value;

const ZIP_LEN: usize = 8192;
const RELEASE: &str = "release.json";
const MIB: u64 = 1024 * 1024;
/// `--timeout` of every run, in seconds.
const TIMEOUT: u64 = 2;
/// "Does not hang", not a speed target.
const WATCHDOG: Duration = Duration::from_secs(TIMEOUT * 3 + 10);
/// Peak resident memory of the checker, whatever the mirrors send.
const MEMORY_BOUND_KIB: u64 = 150 * 1024;
const OVER_THE_LIMIT: &str = "over the size limit of 1048576 bytes";

/// One run's mirrors: two honest ones, then the hostile ones a test adds.
struct Scenario {
    w: World,
    genuine: Release,
    /// Name, country and server of each mirror, in the order of the profile.
    mirrors: Vec<(String, &'static str, FaultServer)>,
}

impl Scenario {
    fn new() -> Scenario {
        let mut w = World::new();
        // The binary judges at wall-clock time.
        w.now = mirrorproof::time::now();
        let genuine = w
            .release(V)
            .signed_by(&[0, 1])
            .artifact(ZIP, ZIP_LEN)
            .build();
        let mut s = Scenario {
            w,
            genuine,
            mirrors: Vec::new(),
        };
        s.add("honest-v4", "FR", V4, vec![]);
        s.add("honest-v6", "DE", V6, vec![]);
        s
    }

    /// A hostile mirror: the genuine files, behind a server with these faults.
    fn hostile(&mut self, name: &str, on: Loopback, faults: Vec<(&str, Fault)>) {
        self.add(name, "RU", on, faults);
    }

    fn add(&mut self, name: &str, cc: &'static str, on: Loopback, faults: Vec<(&str, Fault)>) {
        let m = self.w.mirror(name, cc).serves(&self.genuine);
        let server = FaultServer::start(on, &m.dir(), faults);
        m.at_url(&server.url());
        self.mirrors.push((name.to_owned(), cc, server));
    }

    fn release_bytes(&self) -> Vec<u8> {
        self.genuine.bytes()
    }

    fn artifact_bytes(&self) -> Vec<u8> {
        self.genuine.files[ZIP].clone()
    }

    fn server(&self, name: &str) -> &FaultServer {
        let found = self.mirrors.iter().find(|(n, ..)| n == name);
        &found.unwrap_or_else(|| panic!("no mirror {name}")).2
    }

    /// Runs `mirrorproof check` over every mirror at once under a watchdog, watching its
    /// peak memory; checks the honest mirrors and returns the report.
    fn run(&self, label: &str) -> Outcome {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mirrorproof"))
            .arg("check")
            .arg(self.w.write_profile("hostile.toml"))
            .args(["--json", "--no-state", "--timeout", &TIMEOUT.to_string()])
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mirrorproof");
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        let started = Instant::now();
        let mut peak_kib = 0;
        let status = loop {
            // The last value read is the peak: VmHWM only grows, and vanishes at exit.
            peak_kib = vm_hwm_kib(child.id()).unwrap_or(peak_kib);
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > WATCHDOG {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{label}: mirrorproof still running after {WATCHDOG:?}: it hangs");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = started.elapsed();
        let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
        let report: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
            panic!(
                "{label}: no JSON report ({e}), exit {status}: {}",
                String::from_utf8_lossy(&stderr)
            )
        });
        let out = Outcome {
            label: label.to_owned(),
            report,
        };
        // Shown with --nocapture: the measured values, and what every mirror got.
        let _ = writeln!(
            std::io::stderr(),
            "{label}: peak RSS (VmHWM) {peak_kib} KiB, run took {} ms\n{}",
            took.as_millis(),
            out.table()
        );
        assert!(peak_kib > 0, "{label}: VmHWM was never read");
        assert!(
            peak_kib < MEMORY_BOUND_KIB,
            "{label}: peak RSS {peak_kib} KiB is over {MEMORY_BOUND_KIB} KiB"
        );
        let all_ok = out.mirrors().iter().all(|m| m["status"] == "ok");
        assert_eq!(
            status.code(),
            Some(if all_ok { 0 } else { 1 }),
            "{}",
            out.table()
        );
        assert_eq!(out.report["latest"]["version"], V, "{}", out.table());
        for honest in ["honest-v4", "honest-v6"] {
            let m = out.expect(honest, "ok", "");
            assert_eq!(m["artifacts"][0]["status"], "ok", "{}", out.table());
            // Its own requests never waited for a hostile mirror's deadline.
            let ms = m["elapsed_ms"].as_u64().unwrap();
            assert!(
                ms < TIMEOUT * 1000,
                "{honest} took {ms} ms\n{}",
                out.table()
            );
        }
        out
    }
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Peak resident set size of a live process, from `/proc/PID/status`.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The JSON report of one run.
struct Outcome {
    label: String,
    report: Value,
}

impl Outcome {
    fn mirrors(&self) -> &Vec<Value> {
        self.report["mirrors"].as_array().unwrap()
    }

    fn mirror(&self, name: &str) -> &Value {
        self.mirrors()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no mirror {name}\n{}", self.table()))
    }

    /// Asserts a mirror's status and that its reason is one short line containing `why`.
    #[track_caller]
    fn expect(&self, name: &str, status: &str, why: &str) -> &Value {
        let m = self.mirror(name);
        assert_eq!(
            m["status"],
            status,
            "{}: {name}\n{}",
            self.label,
            self.table()
        );
        if status == "ok" {
            assert!(m["error"].is_null(), "{}", self.table());
            return m;
        }
        let reason = m["error"].as_str().unwrap_or_default();
        assert!(
            !reason.is_empty() && reason.contains(why),
            "{}: {name}: reason {reason:?} does not say {why:?}",
            self.label
        );
        assert!(
            !reason.contains('\n') && reason.len() < 300,
            "{name}: the reason must be one short line: {reason:?}"
        );
        m
    }

    fn table(&self) -> String {
        self.mirrors()
            .iter()
            .map(|m| format!("  {:<22} {:<12} {}\n", m["name"], m["status"], m["error"]))
            .collect()
    }
}

fn artifact_fault(fault: Fault) -> Vec<(&'static str, Fault)> {
    vec![(ZIP, fault)]
}

fn release_fault(fault: Fault) -> Vec<(&'static str, Fault)> {
    vec![(RELEASE, fault)]
}

/// On every path.
fn server_fault(fault: Fault) -> Vec<(&'static str, Fault)> {
    vec![("", fault)]
}

fn flood(len: Option<u64>, content_length: Option<u64>) -> Fault {
    Fault::Flood {
        len,
        content_length,
    }
}

/// The checker hung up long before the server ran out of bytes to send (what is sent
/// includes what the kernel buffered on the way).
#[track_caller]
fn hung_up_early(s: &Scenario, name: &str) {
    let sent = s.server(name).bytes_sent();
    assert!(sent < 32 * MIB, "{name}: {sent} bytes were taken");
}

#[test]
fn an_endless_body_is_cut_with_or_without_a_content_length() {
    let mut s = Scenario::new();
    let petabyte = 1u64 << 50;
    s.hostile("endless", V4, release_fault(flood(None, None)));
    s.hostile(
        "endless-declared",
        V6,
        release_fault(flood(None, Some(petabyte))),
    );
    s.hostile("endless-zip", V6, artifact_fault(flood(None, None)));
    s.hostile(
        "endless-zip-declared",
        V4,
        artifact_fault(flood(None, Some(petabyte))),
    );
    let run = s.run("endless body");
    run.expect("endless", "unreachable", OVER_THE_LIMIT);
    run.expect("endless-declared", "unreachable", OVER_THE_LIMIT);
    run.expect(
        "endless-zip",
        "corrupt",
        "longer than the signed 8192 bytes",
    );
    run.expect(
        "endless-zip-declared",
        "corrupt",
        &format!("served as {petabyte} bytes where 8192 were signed"),
    );
    for name in [
        "endless",
        "endless-declared",
        "endless-zip",
        "endless-zip-declared",
    ] {
        hung_up_early(&s, name);
    }
}

#[test]
fn a_50_mib_release_document_is_refused_with_or_without_a_content_length() {
    let mut s = Scenario::new();
    let size = 50 * MIB;
    s.hostile(
        "50mib-declared",
        V4,
        release_fault(flood(Some(size), Some(size))),
    );
    s.hostile(
        "50mib-undeclared",
        V6,
        release_fault(flood(Some(size), None)),
    );
    let run = s.run("50 MiB metadata");
    run.expect("50mib-declared", "unreachable", OVER_THE_LIMIT);
    run.expect("50mib-undeclared", "unreachable", OVER_THE_LIMIT);
    hung_up_early(&s, "50mib-declared");
    hung_up_early(&s, "50mib-undeclared");
}

#[test]
fn a_release_document_dripped_a_byte_every_half_second_times_out() {
    let mut s = Scenario::new();
    let drip = || release_fault(Fault::Drip(Duration::from_millis(500)));
    s.hostile("drip-v4", V4, drip());
    s.hostile("drip-v6", V6, drip());
    let run = s.run("slow drip");
    for name in ["drip-v4", "drip-v6"] {
        let m = run.expect(name, "unreachable", "timed out after 2s");
        // It was waited for up to its own deadline (and the honest ones were not).
        assert!(m["elapsed_ms"].as_u64().unwrap() >= 1900, "{}", run.table());
    }
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    let mut s = Scenario::new();
    s.hostile("silent-v4", V4, server_fault(Fault::Silent));
    s.hostile("silent-v6", V6, server_fault(Fault::Silent));
    let run = s.run("never answers");
    run.expect("silent-v4", "unreachable", "timed out after 2s");
    run.expect("silent-v6", "unreachable", "timed out after 2s");
}

#[test]
fn a_server_that_hangs_up_at_once_is_unreachable() {
    let mut s = Scenario::new();
    s.hostile("no-bytes-v4", V4, server_fault(Fault::hang_up(b"")));
    s.hostile("no-bytes-v6", V6, server_fault(Fault::hang_up(b"")));
    s.hostile(
        "half-status",
        V6,
        server_fault(Fault::hang_up(b"HTTP/1.1 20")),
    );
    let run = s.run("hangs up");
    for name in ["no-bytes-v4", "no-bytes-v6", "half-status"] {
        run.expect(
            name,
            "unreachable",
            "connection closed before message completed",
        );
    }
}

#[test]
fn a_content_length_that_lies_about_the_release_document() {
    let mut s = Scenario::new();
    let doc = s.release_bytes();
    let n = doc.len() as u64;
    // Less than the body: only the declared bytes are read, a truncated envelope.
    s.hostile(
        "says-less",
        V4,
        release_fault(Fault::body_declaring(&doc, n - 100)),
    );
    // More than the body: the server closes before the declared end.
    s.hostile(
        "says-more",
        V6,
        release_fault(Fault::body_declaring(&doc, n + 100)),
    );
    let run = s.run("lying length, release");
    run.expect("says-less", "invalid", "not a DSSE envelope");
    run.expect(
        "says-more",
        "unreachable",
        "end of file before message length reached",
    );
}

#[test]
fn a_content_length_that_lies_about_an_artifact() {
    let mut s = Scenario::new();
    let zip = s.artifact_bytes();
    let n = zip.len() as u64;
    s.hostile(
        "says-less",
        V6,
        artifact_fault(Fault::body_declaring(&zip, n - 1)),
    );
    s.hostile(
        "says-more",
        V4,
        artifact_fault(Fault::body_declaring(&zip, n + 1)),
    );
    let run = s.run("lying length, artifact");
    run.expect("says-less", "corrupt", "8191 bytes where 8192 were signed");
    run.expect(
        "says-more",
        "corrupt",
        "served as 8193 bytes where 8192 were signed",
    );
}

#[test]
fn artifacts_longer_or_shorter_than_signed_are_caught_whatever_the_length_says() {
    let mut s = Scenario::new();
    let zip = s.artifact_bytes();
    let signed = zip.len() as u64;
    let longer = [&zip[..], b"+++"].concat();
    let shorter = &zip[..zip.len() - 3];
    s.hostile("longer", V4, artifact_fault(Fault::body(&longer)));
    s.hostile("shorter", V6, artifact_fault(Fault::body(shorter)));
    s.hostile(
        "longer-unsized",
        V6,
        artifact_fault(Fault::body_until_close(&longer)),
    );
    s.hostile(
        "shorter-unsized",
        V4,
        artifact_fault(Fault::body_until_close(shorter)),
    );
    // Lying to look right: both announce the signed length.
    s.hostile(
        "shorter-says-signed",
        V4,
        artifact_fault(Fault::body_declaring(shorter, signed)),
    );
    s.hostile(
        "longer-says-signed",
        V6,
        artifact_fault(Fault::body_declaring(&longer, signed)),
    );
    let run = s.run("artifact length");
    run.expect(
        "longer",
        "corrupt",
        "served as 8195 bytes where 8192 were signed",
    );
    run.expect("shorter", "corrupt", "8189 bytes where 8192 were signed");
    run.expect(
        "longer-unsized",
        "corrupt",
        "longer than the signed 8192 bytes",
    );
    run.expect(
        "shorter-unsized",
        "corrupt",
        "8189 bytes where 8192 were signed",
    );
    // The body ends before its announced end: the artifact was not fetched whole.
    run.expect("shorter-says-signed", "incomplete", "not fetched");
    // HTTP framing ends the body at the announced length: what is judged is exactly the
    // signed bytes, and the three extra bytes are no part of the response.
    run.expect("longer-says-signed", "ok", "");
}

#[test]
fn a_redirect_loop_over_ipv6_is_cut() {
    let mut s = Scenario::new();
    s.hostile("loop-v6", V6, server_fault(Fault::RedirectLoop));
    let run = s.run("redirect loop");
    run.expect("loop-v6", "unreachable", "too many redirects");
}

#[test]
fn a_redirect_to_a_host_of_the_other_address_family_is_judged_on_the_bytes_alone() {
    let mut s = Scenario::new();
    let (v4, v6) = (s.server("honest-v4").url(), s.server("honest-v6").url());
    s.hostile("v4-to-v6", V4, server_fault(Fault::RedirectTo(v6)));
    s.hostile("v6-to-v4", V6, server_fault(Fault::RedirectTo(v4)));
    let run = s.run("cross-host redirect");
    for (name, host) in [
        ("v4-to-v6", "http://127.0.0.1:"),
        ("v6-to-v4", "http://[::1]:"),
    ] {
        let m = run.expect(name, "ok", "");
        assert_eq!(m["version"], V);
        assert_eq!(m["artifacts"][0]["status"], "ok");
        // Reported under the URL the user gave, not where the bytes came from.
        assert!(m["url"].as_str().unwrap().starts_with(host), "{m}");
    }
}

/// 1 GiB of zeros in about 1 MiB: one gzip member of 1 MiB of zeros, 1024 times over
/// (concatenated members are one valid gzip stream).
fn gzip_bomb() -> Vec<u8> {
    gzip(&vec![0u8; MIB as usize]).repeat(1024)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// `200` with `Content-Encoding: gzip`, with or without its length.
fn gzipped(body: &[u8], sized: bool) -> Fault {
    let length = format!("Content-Length: {}", body.len());
    let mut headers = vec!["Content-Encoding: gzip"];
    if sized {
        headers.push(&length);
    }
    Fault::Raw(faulty::response(200, &headers, body).into())
}

#[test]
fn a_gzip_bomb_is_never_inflated() {
    let mut s = Scenario::new();
    let bomb = gzip_bomb();
    let wire = bomb.len() as u64;
    assert!((MIB..MIB + MIB / 10).contains(&wire), "{wire} bytes");
    s.hostile("bomb-sized", V4, release_fault(gzipped(&bomb, true)));
    s.hostile("bomb-unsized", V6, release_fault(gzipped(&bomb, false)));
    // Proof that nothing is inflated: the genuine release, gzipped, is no envelope.
    let release = gzip(&s.release_bytes());
    s.hostile(
        "gzipped-release",
        V4,
        release_fault(gzipped(&release, true)),
    );
    let run = s.run("gzip bomb");
    // The bomb is a little over 1 MiB as sent: refused as it stands.
    run.expect("bomb-sized", "unreachable", OVER_THE_LIMIT);
    run.expect("bomb-unsized", "unreachable", OVER_THE_LIMIT);
    run.expect("gzipped-release", "invalid", "not a DSSE envelope");
}

#[test]
fn random_bytes_or_a_block_page_served_with_200_are_invalid() {
    let mut s = Scenario::new();
    let noise = pattern("noise", 0, 64 * 1024);
    let block_page = b"<!DOCTYPE html><html><head><title>Access denied</title></head>\
        <body><h1>This resource is blocked by order of the Ministry</h1>\
        <p>Decision 2026-451. Access to this site is restricted.</p></body></html>\n";
    s.hostile("noise", V4, release_fault(Fault::body(&noise)));
    s.hostile("block-page", V6, release_fault(Fault::body(block_page)));
    let run = s.run("garbage with 200");
    run.expect("noise", "invalid", "not a DSSE envelope");
    let m = run.expect("block-page", "invalid", "not a DSSE envelope");
    // The page's words never reach the report.
    assert!(!m["error"].as_str().unwrap().contains("Ministry"), "{m}");
}

#[test]
fn http_error_statuses_are_unreachable_with_the_status_in_the_reason() {
    let mut s = Scenario::new();
    let codes = [(403, V4), (404, V6), (451, V4), (500, V6), (503, V4)];
    for (code, on) in codes {
        s.hostile(&format!("{code}"), on, release_fault(Fault::status(code)));
    }
    let run = s.run("error statuses");
    for code in [403, 451, 500, 503] {
        run.expect(
            &format!("{code}"),
            "unreachable",
            &format!("HTTP status {code}"),
        );
    }
    // 404 reads as a file that is not there, like a directory mirror's missing file;
    // the reason also names the status (see the test below).
    run.expect("404", "unreachable", "stable/release.json: not found");
}

#[test]
fn a_404_names_its_status_in_the_reason() {
    let mut s = Scenario::new();
    s.hostile("404", V6, release_fault(Fault::status(404)));
    s.run("404").expect("404", "unreachable", "404");
}
