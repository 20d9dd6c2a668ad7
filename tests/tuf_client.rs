//! The TUF client, against real repositories served over loopback HTTP: the command line
//! the conformance suite drives, and the library's `Updater` and audit view under the
//! attacks the specification names (rollback, freeze, mix-and-match, endless data, wrong
//! hashes and lengths, bad rotations, fast-forward recovery, delegations).

#[path = "common/http.rs"]
mod http;
#[path = "common/tuf.rs"]
mod repo;

use std::process::Command;
use std::time::{Duration, Instant};

use http::{Behavior, Server};
use repo::Repo;

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");

struct Client {
    dir: tempfile::TempDir,
    metadata_url: String,
    targets_url: String,
}

struct Ran {
    code: i32,
    stderr: String,
}

impl Client {
    fn new(server: &Server) -> Client {
        Client {
            dir: tempfile::tempdir().unwrap(),
            metadata_url: format!("{}metadata/", server.url()),
            targets_url: format!("{}targets/", server.url()),
        }
    }

    fn metadata_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("metadata")
    }

    fn target_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("targets")
    }

    fn run(&self, args: &[&str]) -> Ran {
        let out = Command::new(BIN)
            .arg("tuf-client")
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        Ran {
            code: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn init(&self, root: &[u8]) -> Ran {
        let f = self.dir.path().join("initial_root.json");
        std::fs::write(&f, root).unwrap();
        let md = self.metadata_dir();
        self.run(&[
            "--metadata-dir",
            md.to_str().unwrap(),
            "init",
            f.to_str().unwrap(),
        ])
    }

    fn refresh(&self) -> Ran {
        let md = self.metadata_dir();
        self.run(&[
            "--metadata-url",
            &self.metadata_url,
            "--metadata-dir",
            md.to_str().unwrap(),
            "refresh",
        ])
    }

    fn download(&self, names: &[&str]) -> Ran {
        let md = self.metadata_dir();
        let td = self.target_dir();
        let mut args = vec![
            "--metadata-url",
            &self.metadata_url,
            "--metadata-dir",
            md.to_str().unwrap(),
        ];
        for n in names {
            args.push("--target-name");
            args.push(n);
        }
        args.extend([
            "--target-dir",
            td.to_str().unwrap(),
            "--target-base-url",
            &self.targets_url,
            "download",
        ]);
        self.run(&args)
    }

    /// The version of the trusted copy of `role`, if there is one.
    fn version(&self, role: &str) -> Option<u64> {
        let b = std::fs::read(self.metadata_dir().join(format!("{role}.json"))).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        v["signed"]["version"].as_u64()
    }

    fn downloaded(&self, file: &str) -> Option<Vec<u8>> {
        std::fs::read(self.target_dir().join(file)).ok()
    }
}

fn served(repo: &Repo) -> Server {
    Server::start(repo.path().to_path_buf(), Behavior::Normal)
}

#[track_caller]
fn ok(r: Ran) {
    assert_eq!(r.code, 0, "expected success, stderr: {}", r.stderr);
}

#[track_caller]
fn fails(r: Ran) -> String {
    assert_eq!(r.code, 1, "expected failure, stderr: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    r.stderr
}

#[test]
fn init_refresh_download_end_to_end() {
    let mut repo = Repo::new();
    repo.add_target("targets", "dir/file.txt", b"hello tuf");
    repo.update_targets();
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    assert_eq!(server.requests(), 0, "init makes no request");
    ok(c.refresh());
    assert_eq!(c.version("root"), Some(1));
    assert_eq!(c.version("timestamp"), Some(2));
    assert_eq!(c.version("snapshot"), Some(2));
    assert_eq!(c.version("targets"), Some(2));
    ok(c.download(&["dir/file.txt"]));
    assert_eq!(
        c.downloaded("dir%2Ffile.txt").as_deref(),
        Some(&b"hello tuf"[..])
    );
    // Consistent snapshot: the hash-prefixed name was fetched, never the plain one.
    assert_eq!(server.requests_for("GET", "/targets/dir/file.txt"), 0);
    let h = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"hello tuf"));
    assert_eq!(
        server.requests_for("GET", &format!("/targets/dir/{h}.file.txt")),
        1
    );
    // Already there with the signed hashes: not fetched again.
    ok(c.download(&["dir/file.txt"]));
    assert_eq!(
        server.requests_for("GET", &format!("/targets/dir/{h}.file.txt")),
        1
    );
    // A name no role lists.
    let e = fails(c.download(&["nope"]));
    assert!(e.contains("no trusted role lists target"), "{e}");
}

#[test]
fn init_refuses_a_root_that_does_not_verify() {
    let repo = Repo::new();
    let server = served(&repo);
    let c = Client::new(&server);
    let mut bad: serde_json::Value = serde_json::from_slice(&repo.root_bytes(1)).unwrap();
    bad["signed"]["version"] = serde_json::json!(7);
    let e = fails(c.init(&serde_json::to_vec(&bad).unwrap()));
    assert!(e.contains("threshold"), "{e}");
    // Refresh without a trusted root fails before any request.
    fails(c.refresh());
    assert_eq!(server.requests(), 0);
}

#[test]
fn slow_server_hits_the_deadline() {
    let repo = Repo::new();
    let server = Server::start(repo.path().to_path_buf(), Behavior::NeverAnswer);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    let md = c.metadata_dir();
    let started = Instant::now();
    let e = fails(c.run(&[
        "--metadata-url",
        &c.metadata_url,
        "--metadata-dir",
        md.to_str().unwrap(),
        "--timeout",
        "1",
        "refresh",
    ]));
    assert!(started.elapsed() < Duration::from_secs(10), "{e}");
    assert!(e.contains("timed out"), "{e}");
}

fn past() -> String {
    repo::expiry(chrono::Utc::now() - chrono::TimeDelta::days(1))
}

/// A client that has refreshed once against `repo`.
fn started(repo: &Repo, server: &Server) -> Client {
    let c = Client::new(server);
    ok(c.init(&repo.root_bytes(1)));
    ok(c.refresh());
    c
}

#[test]
fn timestamp_rollback_is_refused_and_the_trusted_one_kept() {
    let mut repo = Repo::new();
    repo.publish("timestamp"); // v2
    let server = served(&repo);
    let c = started(&repo, &server);
    assert_eq!(c.version("timestamp"), Some(2));
    repo.md.get_mut("timestamp").unwrap()["version"] = serde_json::json!(1);
    repo.write("timestamp");
    let e = fails(c.refresh());
    assert!(e.contains("rollback"), "{e}");
    assert_eq!(c.version("timestamp"), Some(2));
}

#[test]
fn snapshot_and_targets_rollbacks_are_refused() {
    let mut repo = Repo::new();
    repo.hashes_in_meta = true;
    repo.publish("targets"); // v2
    repo.update_snapshot(); // snapshot v2, timestamp v2
    let server = served(&repo);
    let c = started(&repo, &server);
    // Snapshot named at an older version by a newer timestamp.
    repo.md.get_mut("snapshot").unwrap()["version"] = serde_json::json!(1);
    repo.write("snapshot");
    repo.publish("timestamp");
    let e = fails(c.refresh());
    assert!(e.contains("rollback"), "{e}");
    assert_eq!(c.version("timestamp"), Some(2));
    assert_eq!(c.version("snapshot"), Some(2));
    // A newer snapshot that lists an older targets.
    repo.md.get_mut("snapshot").unwrap()["version"] = serde_json::json!(2);
    repo.md.get_mut("targets").unwrap()["version"] = serde_json::json!(1);
    repo.write("targets");
    repo.publish("snapshot"); // v3
    repo.publish("timestamp");
    let e = fails(c.refresh());
    assert!(
        e.contains("targets: version 1 is older than the trusted version 2"),
        "{e}"
    );
    assert_eq!(c.version("snapshot"), Some(2));
    assert_eq!(c.version("targets"), Some(2));
}

#[test]
fn freeze_an_expired_timestamp_fails_the_refresh() {
    let mut repo = Repo::new();
    let server = served(&repo);
    let c = started(&repo, &server);
    repo.md.get_mut("timestamp").unwrap()["expires"] = serde_json::json!(past());
    repo.publish("timestamp");
    let e = fails(c.refresh());
    assert!(e.contains("timestamp expired at"), "{e}");
    // Not written: the next refresh still compares against the valid one.
    assert_eq!(c.version("timestamp"), Some(1));
}

#[test]
fn mix_and_match_snapshot_of_another_version_is_refused() {
    let mut repo = Repo::new();
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    // Timestamp names snapshot v2, the mirror serves v1's bytes under that name.
    let v1 = std::fs::read(repo.path().join("metadata/1.snapshot.json")).unwrap();
    repo.update_snapshot();
    std::fs::write(repo.path().join("metadata/2.snapshot.json"), v1).unwrap();
    let e = fails(c.refresh());
    assert!(
        e.contains("snapshot: version 1 where 2 was expected"),
        "{e}"
    );
    assert_eq!(c.version("timestamp"), Some(2));
    assert_eq!(
        c.version("snapshot"),
        None,
        "the mismatched snapshot is not kept"
    );
}

#[test]
fn snapshot_with_wrong_hash_is_refused() {
    let mut repo = Repo::new();
    repo.hashes_in_meta = true;
    repo.update_snapshot();
    // Re-sign the same snapshot version with other content of the same length after
    // timestamp hashed it (a longer one is cut off at the listed length).
    repo.md.get_mut("snapshot").unwrap()["spec_version"] = serde_json::json!("1.0.32");
    let hashed = repo.md["timestamp"].clone();
    repo.write("snapshot");
    repo.md.insert("timestamp".into(), hashed);
    repo.write("timestamp");
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    let e = fails(c.refresh());
    assert!(
        e.contains("snapshot.json: length or hashes do not match"),
        "{e}"
    );
}

#[test]
fn substituted_or_grown_targets_are_never_stored() {
    let mut repo = Repo::new();
    repo.md.get_mut("root").unwrap()["consistent_snapshot"] = serde_json::json!(false);
    repo.write_root();
    repo.add_target("targets", "a.bin", b"genuine");
    repo.add_target("targets", "b.bin", b"also genuine");
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    repo.serve_target("a.bin", b"evil!!!"); // same length
    let e = fails(c.download(&["a.bin"]));
    assert!(e.contains("sha256 does not match"), "{e}");
    repo.serve_target("b.bin", b"also genuine, and more");
    let e = fails(c.download(&["b.bin"]));
    assert!(e.contains("size limit"), "{e}");
    repo.serve_target("b.bin", b"short");
    let e = fails(c.download(&["b.bin"]));
    assert!(e.contains("5 bytes where 12 were signed"), "{e}");
    assert!(
        std::fs::read_dir(c.target_dir())
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );
}

#[test]
fn endless_metadata_stops_at_the_size_limit() {
    let repo = Repo::new();
    let server = Server::start(
        repo.path().to_path_buf(),
        Behavior::EndlessOn("timestamp.json".into()),
    );
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    let started = Instant::now();
    let e = fails(c.refresh());
    assert!(e.contains("over the size limit of 16384 bytes"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn root_rotation_needs_old_and_new_thresholds() {
    let mut repo = Repo::new();
    let old = repo::key(1); // the first key Repo::new made: root v1's
    // v2: new key only, signed by old and new (honest).
    repo.rotate_keys("root", 1);
    repo.signers.get_mut("root").unwrap().push(old);
    repo.publish("root");
    // v3: signed only by the new key of v2's successor, not by v2's key.
    repo.rotate_keys("root", 1);
    repo.publish("root");
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    let e = fails(c.refresh());
    assert!(e.contains("root: signature threshold not met"), "{e}");
    let kept = std::fs::read(c.metadata_dir().join("root.json")).unwrap();
    assert_eq!(kept, repo.root_bytes(2), "v2 verified and kept, v3 refused");
}

#[test]
fn root_version_must_be_exactly_the_next() {
    let mut repo = Repo::new();
    repo.md.get_mut("root").unwrap()["version"] = serde_json::json!(3);
    let bytes = repo::sign(&repo.md["root"], &[&repo.signers["root"][0]]);
    std::fs::write(repo.path().join("metadata/2.root.json"), bytes).unwrap();
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    let e = fails(c.refresh());
    assert!(e.contains("root: version 3 where 2 was expected"), "{e}");
}

#[test]
fn fast_forward_recovery_after_timestamp_key_rotation() {
    let mut repo = Repo::new();
    for _ in 0..9 {
        repo.publish("timestamp");
    }
    let server = served(&repo);
    let c = started(&repo, &server);
    assert_eq!(c.version("timestamp"), Some(10));
    // The repository rotates the timestamp key and starts its versions over.
    repo.rotate_keys("timestamp", 1);
    repo.publish("root");
    repo.md.get_mut("timestamp").unwrap()["version"] = serde_json::json!(1);
    repo.write("timestamp");
    ok(c.refresh());
    assert_eq!(c.version("root"), Some(2));
    assert_eq!(c.version("timestamp"), Some(1));
    // Without a rotation, the same rollback is refused.
    repo.md.get_mut("timestamp").unwrap()["version"] = serde_json::json!(5);
    repo.write("timestamp");
    ok(c.refresh());
    repo.md.get_mut("timestamp").unwrap()["version"] = serde_json::json!(4);
    repo.write("timestamp");
    fails(c.refresh());
    assert_eq!(c.version("timestamp"), Some(5));
}

#[test]
fn delegations_are_searched_depth_first_and_terminating_stops() {
    let mut repo = Repo::new();
    repo.delegate("targets", "A", &["*"], false);
    repo.delegate("targets", "B", &["*"], false);
    repo.delegate("A", "C", &["*"], true);
    repo.delegate("A", "D", &["*"], false);
    repo.delegate("B", "E", &["*.py"], false);
    repo.add_target("B", "found.txt", b"from B");
    for r in ["C", "D", "A", "B"] {
        repo.publish(r);
    }
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    // Visits A, then C, which is terminating: D and B are never asked.
    let e = fails(c.download(&["found.txt"]));
    assert!(e.contains("no trusted role lists target"), "{e}");
    let asked = |r: &str| server.requests_for("GET", &format!(".{r}.json"));
    assert_eq!(
        (asked("A"), asked("C"), asked("D"), asked("B")),
        (1, 1, 0, 0)
    );
    // Without the terminating flag, D then B are tried, and B has it.
    let a = repo.md.get_mut("A").unwrap();
    a["delegations"]["roles"][0]["terminating"] = serde_json::json!(false);
    repo.publish("A");
    repo.update_targets();
    ok(c.download(&["found.txt"]));
    assert_eq!(c.downloaded("found.txt").as_deref(), Some(&b"from B"[..]));
    assert_eq!((asked("D"), asked("B"), asked("E")), (1, 1, 0));
}

#[test]
fn target_names_cannot_leave_the_target_dir() {
    let mut repo = Repo::new();
    for name in ["../escape", "a/../../escape", ".."] {
        let h = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"x"));
        repo.md.get_mut("targets").unwrap()["targets"][name] =
            serde_json::json!({"length": 1, "hashes": {"sha256": h}});
    }
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    for name in ["../escape", "a/../../escape", ".."] {
        let e = fails(c.download(&[name]));
        assert!(e.contains("cannot be fetched safely"), "{e}");
    }
    assert!(!c.dir.path().join("escape").exists());
    assert_eq!(server.requests_for("GET", "escape"), 0);
}

#[test]
fn succinct_hash_bins_route_each_path_to_one_bin() {
    let mut repo = Repo::new();
    let k = repo.new_key();
    let kid = repo::keyid(&k);
    repo.md.get_mut("targets").unwrap()["delegations"] = serde_json::json!({
        "keys": {kid.clone(): repo::key_json(&k)},
        "succinct_roles": {"keyids": [kid], "threshold": 1, "bit_length": 2, "name_prefix": "bins"},
    });
    let bin_of = |path: &str| {
        let h = <sha2::Sha256 as sha2::Digest>::digest(path.as_bytes());
        format!("bins-{}", h[0] >> 6)
    };
    let expires = repo.md["targets"]["expires"].clone();
    let wrong = (0..4)
        .map(|i| format!("bins-{i}"))
        .find(|b| *b != bin_of("misplaced.txt"))
        .unwrap();
    for i in 0..4 {
        let name = format!("bins-{i}");
        repo.md.insert(
            name.clone(),
            serde_json::json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
                               "expires": expires, "targets": {}}),
        );
        repo.signers
            .insert(name.clone(), vec![repo::key(repo_key_index(&repo, &k))]);
        if name == bin_of("file.txt") {
            repo.add_target(&name, "file.txt", b"binned");
        }
        if name == wrong {
            repo.add_target(&name, "misplaced.txt", b"wrong bin");
        }
        repo.write(&name);
    }
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    ok(c.download(&["file.txt"]));
    assert_eq!(c.downloaded("file.txt").as_deref(), Some(&b"binned"[..]));
    // Only the bin the path hashes to is trusted for it.
    let e = fails(c.download(&["misplaced.txt"]));
    assert!(e.contains("no trusted role lists target"), "{e}");
    assert_eq!(server.requests_for("GET", &format!(".{wrong}.json")), 0);
}

/// The seed index of a key made by `Repo::new_key` (keys are deterministic).
fn repo_key_index(_: &Repo, k: &mirrorproof::keys::SecretKey) -> u8 {
    (0..=255u8)
        .find(|i| repo::key(*i).public() == k.public())
        .unwrap()
}

/// 64 MiB: far more than a client that streams ever holds.
const BIG: usize = 64 << 20;
/// Peak resident memory allowed to a client downloading [`BIG`] bytes. Measured at about
/// 21 MiB (debug build); holding the body measured 146 MiB.
const BIG_RSS_MAX_KIB: u64 = 32 << 10;

fn big_data() -> Vec<u8> {
    (0..BIG)
        .map(|i| (i ^ (i >> 11) ^ (i >> 19)) as u8)
        .collect()
}

/// The peak resident set size of a running process, from `/proc/PID/status`.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Bytes in every file of `dir` (partial files included).
fn bytes_in(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_large_target_streams_to_disk_in_constant_memory() {
    let mut repo = Repo::new();
    let data = big_data();
    repo.add_target("targets", "big.bin", &data);
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    // A stale copy is in the way: it must stay whole until the new one is verified.
    std::fs::create_dir_all(c.target_dir()).unwrap();
    let target = c.target_dir().join("big.bin");
    std::fs::write(&target, b"stale").unwrap();

    let md = c.metadata_dir();
    let td = c.target_dir();
    let mut child = Command::new(BIN)
        .args([
            "tuf-client",
            "--metadata-url",
            &c.metadata_url,
            "--metadata-dir",
        ])
        .arg(&md)
        .args(["--target-name", "big.bin", "--target-dir"])
        .arg(&td)
        .args(["--target-base-url", &c.targets_url, "download"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (mut peak, mut samples_late) = (0u64, 0usize);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no end");
        // Disk first: the memory read after it covers at least that much of the body.
        let stored = bytes_in(&td);
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
            if stored >= (BIG as u64) * 3 / 4 {
                samples_late += 1;
            }
        }
        // The target's name holds the stale copy or the verified one, never a part.
        if let Ok(m) = std::fs::metadata(&target) {
            assert!(m.len() == 5 || m.len() == BIG as u64, "{} bytes", m.len());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    assert!(
        samples_late > 0,
        "no sample taken after 3/4 of the body was on disk (peak {peak} KiB)"
    );
    assert!(
        peak < BIG_RSS_MAX_KIB,
        "peak RSS {peak} KiB for a {} MiB target",
        BIG >> 20
    );
    eprintln!("peak RSS {peak} KiB over {samples_late} late samples");
    assert!(std::fs::read(&target).unwrap() == data, "content differs");
    assert_eq!(names_in(&td), vec!["big.bin".to_owned()]);
}

#[test]
fn a_tampered_target_leaves_neither_the_target_nor_a_partial_file() {
    let mut repo = Repo::new();
    repo.md.get_mut("root").unwrap()["consistent_snapshot"] = serde_json::json!(false);
    repo.write_root();
    // Several MiB, so that most of it is on disk before the hash can be judged.
    let data: Vec<u8> = big_data().into_iter().take(4 << 20).collect();
    repo.add_target("targets", "t.bin", &data);
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    let mut evil = data.clone();
    *evil.last_mut().unwrap() ^= 1;
    repo.serve_target("t.bin", &evil);
    let e = fails(c.download(&["t.bin"]));
    assert!(e.contains("sha256 does not match"), "{e}");
    assert_eq!(names_in(&c.target_dir()), Vec::<String>::new());
    // One byte short.
    repo.serve_target("t.bin", &data[..data.len() - 1]);
    let e = fails(c.download(&["t.bin"]));
    assert!(
        e.contains(&format!(
            "{} bytes where {} were signed",
            data.len() - 1,
            data.len()
        )),
        "{e}"
    );
    assert_eq!(names_in(&c.target_dir()), Vec::<String>::new());
    // The genuine bytes then download, and nothing else is left.
    repo.serve_target("t.bin", &data);
    ok(c.download(&["t.bin"]));
    assert!(c.downloaded("t.bin").unwrap() == data);
    assert_eq!(names_in(&c.target_dir()), vec!["t.bin".to_owned()]);
}

#[test]
fn a_target_served_without_end_is_cut_after_its_length() {
    let mut repo = Repo::new();
    repo.md.get_mut("root").unwrap()["consistent_snapshot"] = serde_json::json!(false);
    repo.write_root();
    repo.add_target("targets", "endless.bin", &[b'A'; 1000]);
    repo.update_targets();
    let server = Server::start(
        repo.path().to_path_buf(),
        Behavior::EndlessOn("endless.bin".into()),
    );
    let c = started(&repo, &server);
    let begun = Instant::now();
    let e = fails(c.download(&["endless.bin"]));
    assert!(e.contains("over the size limit of 1000 bytes"), "{e}");
    assert!(begun.elapsed() < Duration::from_secs(10), "{e}");
    assert_eq!(names_in(&c.target_dir()), Vec::<String>::new());
}

#[test]
fn a_stale_target_is_replaced_only_after_verification() {
    let mut repo = Repo::new();
    repo.add_target("targets", "a.bin", b"the new release");
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    std::fs::create_dir_all(c.target_dir()).unwrap();
    std::fs::write(c.target_dir().join("a.bin"), b"the old release").unwrap();
    let h = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"the new release"));
    let hashed = repo.path().join(format!("targets/{h}.a.bin"));
    std::fs::write(&hashed, b"the bad release").unwrap();
    let e = fails(c.download(&["a.bin"]));
    assert!(e.contains("sha256 does not match"), "{e}");
    assert_eq!(
        c.downloaded("a.bin").as_deref(),
        Some(&b"the old release"[..])
    );
    assert_eq!(names_in(&c.target_dir()), vec!["a.bin".to_owned()]);
    std::fs::write(&hashed, b"the new release").unwrap();
    ok(c.download(&["a.bin"]));
    assert_eq!(
        c.downloaded("a.bin").as_deref(),
        Some(&b"the new release"[..])
    );
    assert_eq!(names_in(&c.target_dir()), vec!["a.bin".to_owned()]);
}

#[cfg(unix)]
#[test]
fn a_leftover_or_planted_partial_file_is_never_written_through() {
    let mut repo = Repo::new();
    repo.add_target("targets", "a.bin", b"genuine");
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    let td = c.target_dir();
    std::fs::create_dir_all(&td).unwrap();
    let partial = td.join(".a.bin.mirrorproof+partial");
    // What a run killed mid-download leaves behind.
    std::fs::write(&partial, b"half of an old downl").unwrap();
    ok(c.download(&["a.bin"]));
    assert_eq!(c.downloaded("a.bin").as_deref(), Some(&b"genuine"[..]));
    assert_eq!(names_in(&td), vec!["a.bin".to_owned()]);
    // A link planted under the partial name: the download neither follows nor keeps it.
    let outside = c.dir.path().join("outside");
    std::fs::write(&outside, b"precious").unwrap();
    std::os::unix::fs::symlink(&outside, &partial).unwrap();
    std::fs::remove_file(td.join("a.bin")).unwrap();
    ok(c.download(&["a.bin"]));
    assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
    assert_eq!(c.downloaded("a.bin").as_deref(), Some(&b"genuine"[..]));
    assert_eq!(names_in(&td), vec!["a.bin".to_owned()]);
}

#[test]
fn targets_stream_from_a_file_url_too() {
    let mut repo = Repo::new();
    repo.md.get_mut("root").unwrap()["consistent_snapshot"] = serde_json::json!(false);
    repo.write_root();
    repo.add_target("targets", "f.bin", b"local bytes");
    repo.update_targets();
    let server = served(&repo);
    let mut c = started(&repo, &server);
    c.targets_url = url::Url::from_directory_path(repo.path().join("targets"))
        .unwrap()
        .to_string();
    ok(c.download(&["f.bin"]));
    assert_eq!(c.downloaded("f.bin").as_deref(), Some(&b"local bytes"[..]));
    repo.serve_target("f.bin", b"local bytes, grown");
    std::fs::remove_file(c.target_dir().join("f.bin")).unwrap();
    let e = fails(c.download(&["f.bin"]));
    assert!(e.contains("over the size limit of 11 bytes"), "{e}");
    assert_eq!(names_in(&c.target_dir()), Vec::<String>::new());
}

/// `Source::get_into` itself, where what reaches the sink can be counted.
mod streaming {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use mirrorproof::fetch::{FetchConfig, Fetcher};
    use mirrorproof::schemes::tuf::{FetcherSource, Source, SourceError};

    use super::*;

    /// Counts what it is given and keeps nothing.
    struct Counting(Arc<AtomicU64>);

    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.fetch_add(buf.len() as u64, Ordering::SeqCst);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn get_into(
        server: &Server,
        path: &str,
        max: u64,
        timeout: Duration,
    ) -> (Result<u64, SourceError>, u64) {
        let config = FetchConfig {
            timeout,
            artifact_timeout: timeout,
            ..FetchConfig::default()
        };
        let source = FetcherSource::new(Arc::new(Fetcher::new(config, &[]).unwrap()));
        let url = url::Url::parse(&format!("{}{path}", server.url())).unwrap();
        let seen = Arc::new(AtomicU64::new(0));
        let result = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(source.get_into(&url, max, Counting(seen.clone())))
            .map(|sink| sink.0.load(Ordering::SeqCst));
        (result, seen.load(Ordering::SeqCst))
    }

    #[test]
    fn nothing_past_the_limit_reaches_the_sink() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("exact"), vec![7u8; 300_000]).unwrap();
        let server = Server::start(
            dir.path().to_path_buf(),
            Behavior::EndlessOn("endless".into()),
        );
        let t = Duration::from_secs(10);
        assert_eq!(
            get_into(&server, "exact", 300_000, t),
            (Ok(300_000), 300_000)
        );
        // Announced longer than the limit: refused before the body is read.
        assert_eq!(
            get_into(&server, "exact", 299_999, t),
            (Err(SourceError::TooLarge(299_999)), 0)
        );
        // No length announced and no end: cut at the first byte over the limit.
        let begun = Instant::now();
        let (result, seen) = get_into(&server, "endless", 100_000, t);
        assert_eq!(result, Err(SourceError::TooLarge(100_000)));
        assert!(seen <= 100_000, "{seen} bytes reached the sink");
        assert!(begun.elapsed() < Duration::from_secs(5));
        assert_eq!(
            get_into(&server, "absent", 10, t).0,
            Err(SourceError::Missing(Some(404)))
        );
    }

    #[test]
    fn the_deadline_covers_the_whole_body() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("slow"), vec![1u8; 10_000]).unwrap();
        let server = Server::start(
            dir.path().to_path_buf(),
            Behavior::SlowDrip(Duration::from_millis(5)),
        );
        let begun = Instant::now();
        let (result, seen) = get_into(&server, "slow", 10_000, Duration::from_secs(1));
        assert!(matches!(result, Err(SourceError::Timeout(_))), "{result:?}");
        assert!(seen > 0 && seen < 10_000, "{seen}");
        assert!(begun.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn a_failing_sink_is_the_sinks_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("no space left"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), vec![1u8; 1 << 20]).unwrap();
        let server = Server::serve_dir(dir.path().to_path_buf());
        let source =
            FetcherSource::new(Arc::new(Fetcher::new(FetchConfig::default(), &[]).unwrap()));
        let url = url::Url::parse(&format!("{}f", server.url())).unwrap();
        let result = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(source.get_into(&url, 1 << 20, Full));
        match result {
            Err(SourceError::Sink(why)) => assert!(why.contains("no space left"), "{why}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
}

mod audit {
    use std::sync::Arc;

    use mirrorproof::fetch::{ArtifactMode, ArtifactOutcome, FetchConfig, Fetcher};
    use mirrorproof::schemes::tuf::FetcherSource;
    use mirrorproof::schemes::tuf::audit::{MirrorView, Outcome, observe_mirror};
    use sha2::{Digest, Sha256};

    use super::*;

    fn observe(repo: &Repo, server: &Server, targets: &[&str], mode: ArtifactMode) -> MirrorView {
        let config = FetchConfig {
            timeout: Duration::from_secs(5),
            ..FetchConfig::default()
        };
        let source = FetcherSource::new(Arc::new(Fetcher::new(config, &[]).unwrap()));
        let meta = url::Url::parse(&format!("{}metadata", server.url())).unwrap();
        let tgts = url::Url::parse(&format!("{}targets/", server.url())).unwrap();
        let names: Vec<String> = targets.iter().map(|s| s.to_string()).collect();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(observe_mirror(
                &repo.root_bytes(1),
                &source,
                &meta,
                &tgts,
                &names,
                mode,
            ))
    }

    fn roles(v: &MirrorView) -> Vec<(String, u64)> {
        v.documents
            .iter()
            .map(|d| (d.role.clone(), d.version))
            .collect()
    }

    #[test]
    fn an_honest_mirror_is_ok_with_every_document_kept() {
        let mut repo = Repo::new();
        repo.add_target("targets", "pkg.tar", b"package bytes");
        repo.update_targets();
        repo.rotate_keys("snapshot", 1);
        repo.publish("root");
        repo.update_snapshot();
        let server = served(&repo);
        let v = observe(&repo, &server, &["pkg.tar", "absent"], ArtifactMode::Full);
        assert_eq!(v.outcome, Outcome::Ok);
        assert!(v.consistent_snapshot);
        assert_eq!(
            roles(&v),
            vec![
                ("root".into(), 1),
                ("root".into(), 2),
                ("timestamp".into(), 3),
                ("snapshot".into(), 3),
                ("targets".into(), 2)
            ]
        );
        let ts = v.latest("timestamp").unwrap();
        let served = std::fs::read(repo.path().join("metadata/timestamp.json")).unwrap();
        assert_eq!(ts.bytes, served);
        assert_eq!(ts.sha256, <[u8; 32]>::from(Sha256::digest(&served)));
        assert_eq!(v.targets[0].info.as_ref().unwrap().length, 13);
        assert_eq!(v.targets[0].artifact, ArtifactOutcome::Ok);
        assert_eq!(v.targets[1].info, None);
        assert_eq!(v.targets[1].artifact, ArtifactOutcome::Skipped);
    }

    #[test]
    fn a_frozen_mirror_is_expired_and_still_shows_what_it_served() {
        let mut repo = Repo::new();
        repo.add_target("targets", "pkg.tar", b"package bytes");
        repo.update_targets();
        repo.md.get_mut("timestamp").unwrap()["expires"] = serde_json::json!(past());
        repo.publish("timestamp");
        let server = served(&repo);
        let v = observe(&repo, &server, &["pkg.tar"], ArtifactMode::Size);
        match &v.outcome {
            Outcome::Expired { role, .. } => assert_eq!(role, "timestamp"),
            o => panic!("{o:?}"),
        }
        assert_eq!(v.latest("targets").map(|d| d.version), Some(2));
        assert_eq!(v.targets[0].artifact, ArtifactOutcome::Ok);
    }

    #[test]
    fn unreachable_invalid_and_corrupt_are_told_apart() {
        let mut repo = Repo::new();
        repo.add_target("targets", "pkg.tar", b"package bytes");
        repo.update_targets();
        let failing = Server::start(repo.path().to_path_buf(), Behavior::Status(500));
        let v = observe(&repo, &failing, &[], ArtifactMode::None);
        assert!(
            matches!(v.outcome, Outcome::Unreachable(_)),
            "{:?}",
            v.outcome
        );
        // A snapshot signed by a stranger.
        let k = repo.new_key();
        repo.signers.insert("snapshot".into(), vec![k]);
        repo.update_snapshot();
        let server = served(&repo);
        let v = observe(&repo, &server, &["pkg.tar"], ArtifactMode::Full);
        match &v.outcome {
            Outcome::Invalid(why) => {
                assert!(why.contains("snapshot: signature threshold"), "{why}")
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(v.latest("timestamp").map(|d| d.version), Some(3));
        assert!(v.latest("snapshot").is_none());
        // Honest metadata, tampered artifact.
        repo.signers.insert("snapshot".into(), vec![repo::key(3)]);
        repo.update_snapshot();
        let h = hex::encode(Sha256::digest(b"package bytes"));
        std::fs::write(
            repo.path().join(format!("targets/{h}.pkg.tar")),
            b"package bytez",
        )
        .unwrap();
        let v = observe(&repo, &server, &["pkg.tar"], ArtifactMode::Full);
        assert_eq!(v.outcome, Outcome::Ok);
        assert!(matches!(v.targets[0].artifact, ArtifactOutcome::Corrupt(_)));
    }
}
