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
