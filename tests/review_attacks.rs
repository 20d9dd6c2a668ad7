//! Attacks from the adversarial review of the field-hardening changes: each test mounts one
//! attack for real against the built binary (or the library where the binary cannot reach
//! the spot from loopback) and asserts what must hold.

mod common;

use std::process::Command;

use mirrorproof::text::{is_unsafe, shown};

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");

/// Window title, one-byte CSI, carriage return and bidi controls.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{9b}31m\r\u{202e}\u{2066}";

#[track_caller]
fn assert_no_raw_controls(what: &str, text: &str) {
    if let Some((i, c)) = text
        .char_indices()
        .find(|&(_, c)| is_unsafe(c) && c != '\n')
    {
        panic!(
            "{what}: U+{:04X} raw at byte {i}: {}",
            c as u32,
            shown(text)
        );
    }
}

/// clap quotes an argument it does not understand. Arguments come from file names too
/// (`mirrorproof verify p.toml *` in a download directory holding a file named
/// `--<ESC>]0;...`), so the quote must be escaped like every other message.
#[test]
fn argument_errors_do_not_echo_controls_raw() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec![format!("--x{HOSTILE}")],
        vec!["check".into(), format!("--x{HOSTILE}")],
        vec![
            "check".into(),
            "p.toml".into(),
            "--artifacts".into(),
            HOSTILE.into(),
        ],
        vec![format!("sub{HOSTILE}")],
        vec!["verify".into(), "p.toml".into(), format!("--{HOSTILE}.zip")],
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("error:"), "{}", shown(&stderr));
        assert_no_raw_controls(&format!("{args:?}"), &stderr);
        assert_no_raw_controls(&format!("{args:?}"), &String::from_utf8_lossy(&out.stdout));
    }
}

/// Peak resident memory (VmHWM) of a child, read from `/proc` while it runs.
fn run_measured(cmd: &mut Command) -> (std::process::Output, u64) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let e = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let started = std::time::Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            && let Some(v) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        {
            peak = v;
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(180) {
            let _ = child.kill();
            panic!("still running after 180 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let output = std::process::Output {
        status,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    };
    (output, peak)
}

/// A signed note may carry signature lines from keys nobody pinned (witnesses), and they
/// are ignored. A hostile mirror serves the genuine checkpoint with one such line padded
/// to the 1 MiB limit: it is valid, and the whole note was kept per mirror until the end
/// of the run (for split-view evidence), so memory followed the number of mirrors: 300
/// entries took over 300 MiB. The bound in the brief is 200 MiB whatever the number of
/// mirrors.
#[test]
fn padded_signed_notes_are_not_kept_per_mirror() {
    use base64::Engine as _;
    use mirrorproof::keys::SecretKey;
    use mirrorproof::schemes::note;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = SecretKey::from_seed(&[0x5a; 32]).unwrap();
    let origin = "log.example/review";
    let text = format!("{origin}\n42\n{}\n", "A".repeat(43) + "=");
    let genuine = note::sign(&text, origin, &key).unwrap();
    // 4 bytes of key hash, then a "signature" that fills the note up to its limit.
    let pad = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 740_000]);
    let padded = format!("{genuine}\u{2014} witness.example {pad}\n");
    assert!(padded.len() < 1024 * 1024, "{}", padded.len());
    let mirror = d.join("mirror");
    std::fs::create_dir(&mirror).unwrap();
    std::fs::write(mirror.join("checkpoint"), &padded).unwrap();
    std::fs::write(
        d.join("log.vkey"),
        format!("{}\n", note::key_line(origin, key.public())),
    )
    .unwrap();
    let mut profile = format!(
        "name = \"padded\"\nscheme = \"note\"\nkey = \"log.vkey\"\nchannel = \"c\"\nfile = \"checkpoint\"\norigin = \"{origin}\"\n"
    );
    const N: usize = 300;
    for i in 0..N {
        profile.push_str(&format!(
            "[[mirrors]]\nurl = \"mirror\"\nname = \"m{i:03}\"\n"
        ));
    }
    std::fs::write(d.join("p.toml"), profile).unwrap();
    let (out, peak_kib) = run_measured(
        Command::new(BIN)
            .args([
                "check",
                "p.toml",
                "--json",
                "--no-state",
                "--artifacts",
                "none",
            ])
            .current_dir(d),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let mirrors = report["mirrors"].as_array().unwrap();
    assert_eq!(mirrors.len(), N);
    // The padded note is valid: the unknown line is ignored, as in Go.
    assert!(
        mirrors.iter().all(|m| m["status"] == "ok"),
        "{}",
        mirrors[0]
    );
    eprintln!("peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < 200 * 1024,
        "peak RSS {peak_kib} KiB for {N} mirrors serving a padded note"
    );
}

/// A loopback listener that accepts and never answers, counting connections.
fn silent_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let n = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(c);
        }
    });
    (port, n)
}

/// A note profile (no root needed) whose mirrors are `urls`, each through `proxy`.
fn note_profile(dir: &std::path::Path, urls: &[String], proxy: Option<&str>) {
    use mirrorproof::keys::SecretKey;
    use mirrorproof::schemes::note;
    let key = SecretKey::from_seed(&[0x5b; 32]).unwrap();
    std::fs::write(
        dir.join("log.vkey"),
        format!("{}\n", note::key_line("log.example", key.public())),
    )
    .unwrap();
    let mut p = "name = \"p\"\nscheme = \"note\"\nkey = \"log.vkey\"\nchannel = \"c\"\nfile = \"checkpoint\"\norigin = \"log.example\"\n".to_string();
    for (i, u) in urls.iter().enumerate() {
        p.push_str(&format!("[[mirrors]]\nurl = \"{u}\"\nname = \"m{i:03}\"\n"));
        if let Some(x) = proxy {
            p.push_str(&format!("proxy = \"{x}\"\n"));
        }
    }
    std::fs::write(dir.join("p.toml"), p).unwrap();
}

/// One host is "scheme, name and port": at most 4 requests at once, and once one got no
/// answer, its other entries are not asked. A fully qualified name with its trailing dot
/// (`silent.example.`) is the same DNS name as `silent.example`, and the URL parser keeps
/// the dot: a list spelling the host both ways got twice the connections and paid the
/// timeout twice. Asked through an HTTP proxy (a silent listener), so no DNS is needed.
#[test]
fn a_trailing_dot_does_not_make_another_host() {
    let (port, accepted) = silent_listener();
    let dir = tempfile::tempdir().unwrap();
    let mut urls = Vec::new();
    for i in 0..10 {
        urls.push(format!("http://silent.example/a{i}/"));
        urls.push(format!("http://silent.example./b{i}/"));
        urls.push(format!("http://SILENT.Example:80/c{i}/"));
        urls.push(format!("http://user@silent.example/d{i}/"));
    }
    note_profile(dir.path(), &urls, Some(&format!("http://127.0.0.1:{port}")));
    let out = Command::new(BIN)
        .args(["check", "p.toml", "--json", "--no-state", "--timeout", "2"])
        .current_dir(dir.path())
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let n = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        n <= mirrorproof::fetch::PER_HOST,
        "one silent host spelled four ways got {n} connections"
    );
    let not_asked = report["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["error"].as_str().unwrap_or("").contains("not asked"))
        .count();
    assert!(
        not_asked >= urls.len() - mirrorproof::fetch::PER_HOST,
        "{not_asked} entries not asked"
    );
}

/// `mirrors import` reads a list of up to 16 MiB fetched from someone else's server. Lists
/// of one-field records were collected whole before being judged: 16 MiB of CSV rows took
/// 1.4 GiB, one-line masterlist paragraphs 366 MiB, one endless mirrors.dat record 200 MiB.
/// Each must now cost about the file's size.
#[test]
fn huge_hostile_mirror_lists_cost_about_their_size() {
    let dir = tempfile::tempdir().unwrap();
    let n = 16 * 1024 * 1024 - 128;
    let lists: [(&str, &str, String); 6] = [
        (
            "cran",
            "rows.csv",
            format!(
                "Name,Country,City,URL,Host,Maintainer,OK,CountryCode\n{}",
                "a\n".repeat(n / 2 - 40)
            ),
        ),
        (
            "cran",
            "commas.csv",
            format!(
                "Name,Country,City,URL,Host,Maintainer,OK,CountryCode\n{}",
                ",".repeat(n - 60)
            ),
        ),
        ("debian", "paragraphs", "a:b\n\n".repeat(n / 5)),
        ("debian", "one-paragraph", "a\n".repeat(n / 2)),
        ("openbsd", "one-record", "AB\n".repeat(n / 3)),
        ("arch", "headings", "## x\n".repeat(n / 5)),
    ];
    for (format, name, text) in lists {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let (out, peak_kib) = run_measured(
            Command::new(BIN)
                .args(["mirrors", "import", "--format", format])
                .arg(&p)
                .current_dir(dir.path()),
        );
        // No usable mirror in any of them: refused, with a hint.
        assert_eq!(out.status.code(), Some(2), "{name}");
        eprintln!("{name}: peak RSS {peak_kib} KiB");
        assert!(
            peak_kib < 80 * 1024,
            "{format} list {name} of 16 MiB: peak RSS {peak_kib} KiB"
        );
    }
}

/// A loopback host that serves `tree` for `/ENTRY/rest`, except artifacts: for those it
/// sends the head and then nothing, holding the connection. Counts artifact requests.
fn artifact_staller(
    tree: std::path::PathBuf,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let asked = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let (tree, counter) = (tree.clone(), counter.clone());
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let path = line.split(' ').nth(1).unwrap_or("").trim_start_matches('/');
                let rest = path.split_once('/').map_or("", |x| x.1);
                if rest.starts_with("artifacts/") {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n");
                    std::thread::sleep(std::time::Duration::from_secs(120));
                    return;
                }
                let (status, body) = match std::fs::read(tree.join(rest)) {
                    Ok(b) => ("200 OK", b),
                    Err(_) => ("404 Not Found", Vec::new()),
                };
                let _ = c.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                let _ = c.write_all(&body);
            });
        }
    });
    (port, asked)
}

/// A silent host is remembered for metadata, and one mirror stops being asked for
/// artifacts after its first artifact timeout. But a host that serves the (genuine,
/// replayed) release at once and then stalls every artifact download, named N times in a
/// list, cost one artifact timeout per PER_HOST entries: N/4 × `--artifact-timeout`
/// (600 s by default: 100 entries, over four hours). After the first artifact timeout on a
/// host, the host's other artifacts must not be waited on again.
#[test]
fn a_host_that_stalls_artifacts_costs_about_one_artifact_timeout() {
    use common::*;
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    let r = w
        .release(V)
        .published(w.now - days(1))
        .expires(w.now + days(30))
        .signed_by(&[0, 1])
        .artifact(ZIP, 4096)
        .build();
    let tree = w.mirror("tree", "FR").serves(&r).dir();
    let (port, asked) = artifact_staller(tree);
    const N: usize = 40;
    let mut text = format!(
        "name = \"{PROJECT}\"\nroot = {:?}\nchannel = \"stable\"\n",
        w.pinned_path().display().to_string()
    );
    for i in 0..N {
        text.push_str(&format!(
            "[[mirrors]]\nurl = \"http://127.0.0.1:{port}/e{i:02}/\"\ncountry = \"FR\"\nname = \"e{i:02}\"\n"
        ));
    }
    let profile = w.path().join("stall.toml");
    std::fs::write(&profile, text).unwrap();
    let started = std::time::Instant::now();
    let (out, _) = run_measured(
        Command::new(BIN)
            .arg("check")
            .arg(&profile)
            .args([
                "--json",
                "--no-state",
                "--timeout",
                "20",
                "--artifact-timeout",
                "2",
            ])
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY"),
    );
    let took = started.elapsed();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let mirrors = report["mirrors"].as_array().unwrap();
    assert_eq!(mirrors.len(), N);
    assert!(
        mirrors.iter().all(|m| m["status"] == "incomplete"),
        "{}",
        mirrors[0]
    );
    let n = asked.load(std::sync::atomic::Ordering::SeqCst);
    eprintln!("run took {took:?}; {n} artifact requests");
    assert!(
        n <= mirrorproof::fetch::PER_HOST,
        "{n} artifact requests to a host that stalls them"
    );
    assert!(
        took < std::time::Duration::from_secs(12),
        "{N} entries on one stalling host took {took:?}"
    );
}
