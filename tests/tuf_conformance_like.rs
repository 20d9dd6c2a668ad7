//! `mirrorproof tuf-client` as the TUF conformance suite (tuf-conformance) drives it, and
//! as a hostile repository would: each test names the conformance scenario it mirrors or
//! the attack it stages. Everything runs over loopback HTTP against repositories built
//! with tests/common/tuf.rs, and the client is the real binary, run with a deadline of its
//! own so that a hang is a failure, not a stuck test run.

#[path = "common/http.rs"]
mod http;
#[path = "common/tuf.rs"]
mod repo;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use http::{Behavior, Server};
use repo::Repo;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");
/// Longest any one client run may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(60);

struct Client {
    dir: tempfile::TempDir,
    metadata_url: String,
    targets_url: String,
}

#[derive(Debug)]
struct Ran {
    code: i32,
    stderr: String,
    took: Duration,
}

/// Runs the binary; kills it and reports code -1 if it runs past `limit`.
fn run_limited(args: &[&str], limit: Duration) -> Ran {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-2);
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    Ran {
        code,
        stderr,
        took: started.elapsed(),
    }
}

impl Client {
    fn new(server: &Server) -> Client {
        let dir = tempfile::tempdir().unwrap();
        // The harness creates both directories before init.
        std::fs::create_dir_all(dir.path().join("metadata")).unwrap();
        std::fs::create_dir_all(dir.path().join("targets")).unwrap();
        Client {
            dir,
            metadata_url: format!("{}metadata/", server.url()),
            targets_url: format!("{}targets/", server.url()),
        }
    }

    fn md(&self) -> PathBuf {
        self.dir.path().join("metadata")
    }

    fn td(&self) -> PathBuf {
        self.dir.path().join("targets")
    }

    fn run(&self, args: &[&str]) -> Ran {
        let mut all = vec!["tuf-client"];
        all.extend_from_slice(args);
        run_limited(&all, HANG)
    }

    fn init(&self, root: &[u8]) -> Ran {
        let f = self.dir.path().join("initial_root.json");
        std::fs::write(&f, root).unwrap();
        let md = self.md();
        self.run(&[
            "--metadata-dir",
            md.to_str().unwrap(),
            "init",
            f.to_str().unwrap(),
        ])
    }

    fn refresh_with(&self, extra: &[&str]) -> Ran {
        let md = self.md();
        let mut args = vec![
            "--metadata-url",
            &self.metadata_url,
            "--metadata-dir",
            md.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push("refresh");
        self.run(&args)
    }

    fn refresh(&self) -> Ran {
        self.refresh_with(&[])
    }

    fn download(&self, name: &str) -> Ran {
        let md = self.md();
        let td = self.td();
        self.run(&[
            "--metadata-url",
            &self.metadata_url,
            "--metadata-dir",
            md.to_str().unwrap(),
            "--target-name",
            name,
            "--target-dir",
            td.to_str().unwrap(),
            "--target-base-url",
            &self.targets_url,
            "download",
        ])
    }

    /// The conformance runner's `trusted_roles()`: every `*.json` in the metadata
    /// directory, by name, with its version, sorted by file name.
    fn trusted_roles(&self) -> Vec<(String, u64)> {
        let mut names: Vec<String> = std::fs::read_dir(self.md())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let v: Value =
                    serde_json::from_slice(&std::fs::read(self.md().join(&n)).unwrap()).unwrap();
                (
                    n.trim_end_matches(".json").to_owned(),
                    v["signed"]["version"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// Contents of every regular file in the target directory.
    fn downloaded(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.td()).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                out.push(std::fs::read(e.path()).unwrap());
            }
        }
        out.sort();
        out
    }
}

fn roles(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(r, v)| ((*r).to_owned(), *v)).collect()
}

#[track_caller]
fn ok(r: Ran) {
    assert_eq!(r.code, 0, "expected success: {r:?}");
}

/// Failure: exit 1 exactly, one line on stderr, nothing raw from outside in it.
#[track_caller]
fn fails(r: Ran) -> String {
    assert_eq!(r.code, 1, "expected exit 1: {r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "one line: {r:?}");
    assert!(
        !r.stderr.trim_end().chars().any(char::is_control),
        "control character on stderr: {r:?}"
    );
    r.stderr
}

fn served(repo: &Repo) -> Server {
    Server::start(repo.path().to_path_buf(), Behavior::Normal)
}

fn started(repo: &Repo, server: &Server) -> Client {
    let c = Client::new(server);
    ok(c.init(&repo.root_bytes(1)));
    ok(c.refresh());
    c
}

fn past() -> String {
    repo::expiry(chrono::Utc::now() - chrono::TimeDelta::days(1))
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

// ---------------------------------------------------------------------------------------
// The command line contract.

#[test]
fn usage_errors_exit_1_as_the_harness_expects() {
    // tuf-conformance reads any exit code but 0 and 1 as a broken client.
    for args in [
        &["tuf-client", "--bogus", "refresh"][..],
        &["tuf-client", "refresh"][..],
        &["tuf-client", "--metadata-dir", "/nonexistent", "init"][..],
        &["tuf-client", "--metadata-dir", "/nonexistent", "frobnicate"][..],
    ] {
        let r = run_limited(args, HANG);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
    }
}

#[test]
fn a_target_name_that_starts_with_a_dash_is_a_name() {
    let mut repo = Repo::new();
    repo.add_target("targets", "-rf", b"dash");
    repo.update_targets();
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    ok(c.download("-rf"));
    assert_eq!(c.downloaded(), vec![b"dash".to_vec()]);
}

/// test_basic_init_and_refresh / test_implicit_refresh: exactly these requests, in order.
#[test]
fn basic_refresh_requests_and_trusted_set() {
    let repo = Repo::new();
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    fails(c.download("nonexistent artifact"));
    for (f, n) in [
        ("/metadata/2.root.json", 1),
        ("/metadata/timestamp.json", 1),
        ("/metadata/1.snapshot.json", 1),
        ("/metadata/1.targets.json", 1),
    ] {
        assert_eq!(server.requests_for("GET", f), n, "{f}");
    }
    assert_eq!(server.requests(), 4);
    assert_eq!(
        c.trusted_roles(),
        roles(&[
            ("root", 1),
            ("snapshot", 1),
            ("targets", 1),
            ("timestamp", 1)
        ])
    );
}

/// test_unsigned_metadata: a role signed by the wrong key stops the walk there, and what
/// was verified before it stays trusted.
#[test]
fn unsigned_metadata_keeps_what_came_before() {
    for (role, want) in [
        ("timestamp", vec![("root", 1)]),
        ("snapshot", vec![("root", 1), ("timestamp", 1)]),
        (
            "targets",
            vec![("root", 1), ("snapshot", 1), ("timestamp", 1)],
        ),
    ] {
        let mut repo = Repo::new();
        let stranger = repo.new_key();
        repo.signers.insert(role.into(), vec![stranger]);
        repo.write("targets");
        repo.write("snapshot");
        repo.write("timestamp");
        let server = served(&repo);
        let c = Client::new(&server);
        ok(c.init(&repo.root_bytes(1)));
        let e = fails(c.refresh());
        assert!(e.contains("threshold"), "{role}: {e}");
        assert_eq!(c.trusted_roles(), roles(&want), "{role}");
    }
}

/// test_snapshot_404 and test_targets_404: the newer timestamp (snapshot) is kept, the
/// older snapshot (targets) too.
#[test]
fn missing_snapshot_or_targets_keeps_the_newer_ones_before_it() {
    let mut repo = Repo::new();
    let server = served(&repo);
    let c = started(&repo, &server);
    repo.md.get_mut("timestamp").unwrap()["meta"]["snapshot.json"]["version"] = json!(2);
    repo.publish("timestamp");
    let e = fails(c.refresh());
    assert!(e.contains("2.snapshot.json: not found"), "{e}");
    assert_eq!(
        c.trusted_roles(),
        roles(&[
            ("root", 1),
            ("snapshot", 1),
            ("targets", 1),
            ("timestamp", 2)
        ])
    );
    // Now snapshot 2 exists and names targets 2, which does not.
    repo.md.get_mut("snapshot").unwrap()["meta"]["targets.json"]["version"] = json!(2);
    repo.publish("snapshot");
    repo.publish("timestamp");
    let e = fails(c.refresh());
    assert!(e.contains("2.targets.json: not found"), "{e}");
    assert_eq!(
        c.trusted_roles(),
        roles(&[
            ("root", 1),
            ("snapshot", 2),
            ("targets", 1),
            ("timestamp", 3)
        ])
    );
}

/// test_metadata_bytes_match: the bytes served are the bytes kept.
#[test]
fn metadata_is_kept_byte_for_byte() {
    let repo = Repo::new();
    let p = repo.path().join("metadata/timestamp.json");
    let mut b = std::fs::read(&p).unwrap();
    b.extend_from_slice(b" \n ");
    std::fs::write(&p, &b).unwrap();
    let server = served(&repo);
    let c = started(&repo, &server);
    assert_eq!(std::fs::read(c.md().join("timestamp.json")).unwrap(), b);
}

/// test_custom_fields and test_deprecated_keyid_hash_algorithms: unknown fields are signed
/// data, not errors.
#[test]
fn unknown_fields_are_signed_over_and_otherwise_ignored() {
    let mut repo = Repo::new();
    let server = served(&repo);
    let c = started(&repo, &server);
    let root = repo.md.get_mut("root").unwrap();
    root["custom-field"] = json!("value");
    root["roles"]["root"]["another-field"] = json!({"a": [1, 2]});
    let kid = root["roles"]["root"]["keyids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    root["keys"][&kid]["keyid_hash_algorithms"] = json!("md5");
    root["keys"][&kid]["keyval"]["private"] = json!("");
    repo.publish("root");
    ok(c.refresh());
    assert_eq!(c.trusted_roles()[0], ("root".to_owned(), 2));
}

// ---------------------------------------------------------------------------------------
// Hostile bytes.

#[test]
fn huge_nesting_is_refused_without_a_crash() {
    let repo = Repo::new();
    let mut deep = "[".repeat(15_000);
    deep.push_str(&"]".repeat(15_000));
    std::fs::write(repo.path().join("metadata/timestamp.json"), deep).unwrap();
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    let e = fails(c.refresh());
    assert!(e.contains("timestamp"), "{e}");
}

#[test]
fn a_repeated_json_key_is_refused_even_when_signed() {
    let mut repo = Repo::new();
    let server = served(&repo);
    let c = started(&repo, &server);
    repo.publish("timestamp"); // v2, validly signed
    let p = repo.path().join("metadata/timestamp.json");
    let text = String::from_utf8(std::fs::read(&p).unwrap()).unwrap();
    // A second "version" key before the real one: a last-value-wins parser (python's)
    // sees the signed document, a first-value-wins one sees version 99.
    let doubled = text.replacen("\"_type\"", "\"version\": 99,\n    \"_type\"", 1);
    assert_ne!(doubled, text);
    std::fs::write(&p, doubled).unwrap();
    let e = fails(c.refresh());
    assert!(e.contains("duplicate"), "{e}");
    assert_eq!(c.trusted_roles()[3], ("timestamp".to_owned(), 1));
}

#[test]
fn versions_zero_negative_and_float_are_refused() {
    for bad in [
        json!(0),
        json!(-1),
        json!(2.0),
        json!(18446744073709551616.0),
    ] {
        let repo = Repo::new();
        let server = served(&repo);
        let c = started(&repo, &server);
        let mut ts = repo.md["timestamp"].clone();
        ts["version"] = bad.clone();
        // Floats have no canonical form: sign what a lenient reader would make of it.
        let mut as_int = ts.clone();
        as_int["version"] = json!(2);
        let msg = mirrorproof::schemes::tuf::canonical::encode(&ts)
            .unwrap_or_else(|_| mirrorproof::schemes::tuf::canonical::encode(&as_int).unwrap());
        let k = &repo.signers["timestamp"][0];
        let doc = json!({"signed": ts, "signatures": [
            {"keyid": repo::keyid(k), "sig": hex::encode(k.sign(&msg))}]});
        std::fs::write(
            repo.path().join("metadata/timestamp.json"),
            serde_json::to_vec(&doc).unwrap(),
        )
        .unwrap();
        fails(c.refresh());
        assert_eq!(c.trusted_roles()[3], ("timestamp".to_owned(), 1), "{bad}");
    }
}

/// Signatures cover securesystemslib's canonical form, where a control character in a
/// string is written raw: a signature over JSON that escapes it (serde_json's compact
/// form, OLPC's) covers other bytes and does not count; over the canonical bytes it does.
#[test]
fn a_signature_over_another_serialization_does_not_count() {
    let mut repo = Repo::new();
    let server = served(&repo);
    let c = started(&repo, &server);
    let ts = repo.md.get_mut("timestamp").unwrap();
    ts["version"] = json!(2);
    ts["x-note"] = json!("line\nbreak\u{1}");
    let signed = repo.md["timestamp"].clone();
    let k = &repo.signers["timestamp"][0];
    let sign_over = |msg: &[u8]| {
        let doc = json!({"signed": signed, "signatures": [
            {"keyid": repo::keyid(k), "sig": hex::encode(k.sign(msg))}]});
        serde_json::to_vec(&doc).unwrap()
    };
    let compact = serde_json::to_vec(&signed).unwrap();
    let canonical = mirrorproof::schemes::tuf::canonical::encode(&signed).unwrap();
    assert_ne!(compact, canonical);
    let p = repo.path().join("metadata/timestamp.json");
    std::fs::write(&p, sign_over(&compact)).unwrap();
    let e = fails(c.refresh());
    assert!(e.contains("timestamp: signature threshold not met"), "{e}");
    std::fs::write(&p, sign_over(&canonical)).unwrap();
    ok(c.refresh());
    assert_eq!(c.trusted_roles()[3], ("timestamp".to_owned(), 2));
}

#[test]
fn one_key_under_many_keyids_meets_no_threshold() {
    // test_duplicate_keys_root: ten keyids, one key, threshold 6.
    let mut repo = Repo::new();
    let server = served(&repo);
    let c = started(&repo, &server);
    let k = repo.new_key();
    let kj = repo::key_json(&k);
    let root = repo.md.get_mut("root").unwrap();
    let mut ids = Vec::new();
    for i in 0..10 {
        let id = format!("not-hex-{i}-\u{1b}[2J");
        root["keys"][&id] = kj.clone();
        ids.push(id);
    }
    root["roles"]["snapshot"] = json!({"keyids": ids, "threshold": 6});
    repo.publish("root");
    // Sign snapshot under every keyid with the one key.
    repo.md.get_mut("snapshot").unwrap()["version"] = json!(2);
    let msg = mirrorproof::schemes::tuf::canonical::encode(&repo.md["snapshot"]).unwrap();
    let sig = hex::encode(k.sign(&msg));
    let sigs: Vec<Value> = ids
        .iter()
        .map(|id| json!({"keyid": id, "sig": sig}))
        .collect();
    let bytes =
        serde_json::to_vec(&json!({"signed": repo.md["snapshot"], "signatures": sigs})).unwrap();
    std::fs::write(repo.path().join("metadata/2.snapshot.json"), &bytes).unwrap();
    repo.md.get_mut("timestamp").unwrap()["meta"]["snapshot.json"]["version"] = json!(2);
    repo.publish("timestamp");
    let e = fails(c.refresh());
    assert!(
        e.contains("snapshot: signature threshold not met (1 valid"),
        "{e}"
    );
    // (The rotation of snapshot keys dropped the stored snapshot, 5.3.11.)
    assert!(!c.trusted_roles().contains(&("snapshot".to_owned(), 2)));
    assert_eq!(c.trusted_roles()[0], ("root".to_owned(), 2));
}

#[test]
fn spec_version_must_be_1_x() {
    for (spec, good) in [
        ("2.0.0", false),
        ("1.99.7", true),
        ("1.0", true),
        ("1", false),
    ] {
        let mut repo = Repo::new();
        let server = served(&repo);
        let c = started(&repo, &server);
        repo.md.get_mut("timestamp").unwrap()["spec_version"] = json!(spec);
        repo.publish("timestamp");
        let r = c.refresh();
        if good {
            ok(r);
        } else {
            let e = fails(r);
            assert!(e.contains("spec_version"), "{spec}: {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Roots.

/// Only the final root's expiry counts (5.3.10); an expired final root is still kept
/// (test_root_expired) but nothing after it is loaded.
#[test]
fn expired_intermediate_roots_are_fine_an_expired_final_one_is_kept_and_stops() {
    let mut repo = Repo::new();
    let server = served(&repo);
    let c = started(&repo, &server);
    let good_expiry = repo.md["root"]["expires"].clone();
    repo.md.get_mut("root").unwrap()["expires"] = json!(past());
    repo.publish("root"); // v2, expired
    repo.md.get_mut("root").unwrap()["expires"] = good_expiry;
    repo.publish("root"); // v3
    repo.update_snapshot();
    ok(c.refresh());
    assert_eq!(c.trusted_roles()[0], ("root".to_owned(), 3));
    repo.md.get_mut("root").unwrap()["expires"] = json!(past());
    repo.publish("root"); // v4, expired, final
    repo.update_snapshot();
    let e = fails(c.refresh());
    assert!(e.contains("root expired"), "{e}");
    assert_eq!(
        c.trusted_roles(),
        roles(&[
            ("root", 4),
            ("snapshot", 2),
            ("targets", 1),
            ("timestamp", 2)
        ])
    );
}

/// A repository that always has one more root: the walk stops after 256 new versions
/// (python-tuf's bound) and goes on with the newest.
#[test]
fn a_root_walk_that_never_ends_is_bounded() {
    let mut repo = Repo::new();
    for _ in 0..300 {
        repo.publish("root");
    }
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    ok(c.refresh());
    assert_eq!(c.trusted_roles()[0], ("root".to_owned(), 257));
    assert_eq!(server.requests_for("GET", "/258.root.json"), 0);
}

/// consistent_snapshot switched off, then on again, between roots: the final root decides
/// how files are named.
#[test]
fn consistent_snapshot_toggled_between_roots() {
    let mut repo = Repo::new();
    repo.add_target("targets", "a.txt", b"first");
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    repo.md.get_mut("root").unwrap()["consistent_snapshot"] = json!(false);
    repo.publish("root");
    repo.add_target("targets", "a.txt", b"second");
    repo.update_targets();
    ok(c.download("a.txt"));
    assert_eq!(c.downloaded(), vec![b"second".to_vec()]);
    assert_eq!(server.requests_for("GET", "/metadata/snapshot.json"), 1);
    assert_eq!(server.requests_for("GET", "/targets/a.txt"), 1);
    repo.md.get_mut("root").unwrap()["consistent_snapshot"] = json!(true);
    repo.publish("root");
    repo.add_target("targets", "a.txt", b"third");
    repo.update_targets();
    ok(c.download("a.txt"));
    assert_eq!(c.downloaded(), vec![b"third".to_vec()]);
    let h = sha256_hex(b"third");
    assert_eq!(
        server.requests_for("GET", &format!("/targets/{h}.a.txt")),
        1
    );
}

/// Timestamp lists snapshot with neither hashes nor length: snapshot is read up to the
/// configured bound, no further.
#[test]
fn snapshot_meta_without_length_is_bounded_by_the_default() {
    let repo = Repo::new();
    assert!(
        repo.md["timestamp"]["meta"]["snapshot.json"]
            .get("length")
            .is_none()
    );
    let server = Server::start(
        repo.path().to_path_buf(),
        Behavior::EndlessOn("snapshot.json".into()),
    );
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    let e = fails(c.refresh());
    assert!(e.contains("over the size limit"), "{e}");
}

#[test]
fn a_slow_drip_hits_the_deadline_for_the_whole_body() {
    let repo = Repo::new();
    let server = Server::start(
        repo.path().to_path_buf(),
        Behavior::SlowDrip(Duration::from_millis(100)),
    );
    let c = Client::new(&server);
    ok(c.init(&repo.root_bytes(1)));
    let r = c.refresh_with(&["--timeout", "2"]);
    let took = r.took;
    let e = fails(r);
    assert!(e.contains("timed out"), "{e}");
    assert!(took < Duration::from_secs(15), "{took:?}");
}

// ---------------------------------------------------------------------------------------
// Delegations.

/// test_unusual_role_name: names are quoted in URLs and in file names; nothing lands
/// outside the metadata directory.
#[test]
fn unusual_role_names_are_quoted_everywhere() {
    for name in [
        "?",
        "#",
        "/delegatedrole",
        "../delegatedrole",
        "a\u{1b}[2Jb",
    ] {
        let mut repo = Repo::new();
        let k = repo.new_key();
        let t = repo.md.get_mut("targets").unwrap();
        t["delegations"] = json!({"keys": {repo::keyid(&k): repo::key_json(&k)},
            "roles": [{"name": name, "keyids": [repo::keyid(&k)], "threshold": 1,
                       "terminating": false, "paths": ["*"]}]});
        let expires = repo.md["targets"]["expires"].clone();
        let d = json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
                       "expires": expires, "targets": {}});
        let bytes = repo::sign(&d, &[&k]);
        // Served where the server looks after percent-decoding the request path.
        let file = repo.path().join("metadata").join(format!("1.{name}.json"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, bytes).unwrap();
        repo.md.get_mut("snapshot").unwrap()["meta"][format!("{name}.json")] =
            json!({"version": 1});
        repo.update_targets();
        let server = served(&repo);
        let c = Client::new(&server);
        ok(c.init(&repo.root_bytes(1)));
        let e = fails(c.download("nonexistent target"));
        assert!(e.contains("no trusted role lists target"), "{name}: {e}");
        assert_eq!(c.trusted_roles().len(), 5, "{name}");
        let outside: Vec<_> = std::fs::read_dir(c.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(outside.len(), 3, "{name}: {outside:?}");
    }
}

#[test]
fn delegation_cycles_end_and_fan_out_is_bounded() {
    let mut repo = Repo::new();
    for i in 0..60 {
        repo.delegate("targets", &format!("r{i}"), &["*"], false);
    }
    // A cycle below the first: r0 -> r1 -> r0.
    let ids = |r: &Repo, n: &str| {
        let k = &r.signers[n][0];
        (repo::keyid(k), repo::key_json(k))
    };
    let (k1, k0) = (ids(&repo, "r1"), ids(&repo, "r0"));
    for (from, to, (id, kj)) in [("r0", "r1", k1), ("r1", "r0", k0)] {
        let d = repo.md.get_mut(from).unwrap();
        d["delegations"] = json!({"keys": {id.clone(): kj},
            "roles": [{"name": to, "keyids": [id], "threshold": 1,
                       "terminating": false, "paths": ["*"]}]});
    }
    for i in 0..60 {
        repo.write(&format!("r{i}"));
    }
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    let e = fails(c.download("missing"));
    assert!(e.contains("no trusted role lists target"), "{e}");
    let asked: usize = (0..60)
        .map(|i| server.requests_for("GET", &format!(".r{i}.json")))
        .sum();
    assert_eq!(asked, 32, "python-tuf's max_delegations");
    assert_eq!(server.requests_for("GET", ".r0.json"), 1);
}

#[test]
fn hash_prefixes_of_odd_lengths_match_as_prefixes() {
    let path = "file.txt";
    let h = sha256_hex(path.as_bytes());
    for prefix in [&h[..1], &h[..3], &h[..5], ""] {
        let mut repo = Repo::new();
        let k = repo.new_key();
        let t = repo.md.get_mut("targets").unwrap();
        t["delegations"] = json!({"keys": {repo::keyid(&k): repo::key_json(&k)},
            "roles": [{"name": "bin", "keyids": [repo::keyid(&k)], "threshold": 1,
                       "terminating": false, "path_hash_prefixes": ["zz", prefix]}]});
        let expires = repo.md["targets"]["expires"].clone();
        repo.md.insert(
            "bin".into(),
            json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
                   "expires": expires, "targets": {}}),
        );
        repo.signers.insert("bin".into(), vec![k]);
        repo.add_target("bin", path, b"binned");
        repo.write("bin");
        repo.update_targets();
        let server = served(&repo);
        let c = Client::new(&server);
        ok(c.init(&repo.root_bytes(1)));
        ok(c.download(path));
        assert_eq!(c.downloaded(), vec![b"binned".to_vec()], "{prefix}");
    }
}

// ---------------------------------------------------------------------------------------
// Names and the file system.

#[test]
fn hostile_target_names_never_leave_the_target_dir_nor_reach_stderr_raw() {
    let mut repo = Repo::new();
    let names = [
        "%2e%2e/x",
        "/abs/x",
        "..%2Fx",
        "a\u{1b}]0;owned\u{7}b",
        "c\u{202e}d\u{1b}[31m",
    ];
    for n in names {
        let data = format!("content of {n}");
        repo.md.get_mut("targets").unwrap()["targets"][n] =
            json!({"length": data.len(), "hashes": {"sha256": sha256_hex(data.as_bytes())}});
    }
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    for n in names {
        let r = c.download(n);
        // Nothing is served for them: each fails, with a clean line.
        let e = fails(r);
        assert!(!e.contains('\u{1b}') && !e.contains('\u{202e}'), "{e}");
    }
    let e = fails(c.download("\u{1b}[2Jmissing"));
    assert!(!e.contains('\u{1b}'), "{e}");
    // Everything stayed below the client's directory, quoted into one file name each.
    for entry in std::fs::read_dir(c.dir.path()).unwrap() {
        let n = entry.unwrap().file_name();
        assert!(
            ["metadata", "targets", "initial_root.json"].contains(&n.to_str().unwrap()),
            "{n:?}"
        );
    }
}

fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().unwrap();
    assert!(st.success());
}

/// A FIFO where the client keeps timestamp.json must not hold the client forever.
#[test]
fn a_fifo_in_the_metadata_dir_does_not_hang_the_client() {
    let repo = Repo::new();
    let server = served(&repo);
    let c = started(&repo, &server);
    let ts = c.md().join("timestamp.json");
    std::fs::remove_file(&ts).unwrap();
    mkfifo(&ts);
    let r = c.refresh();
    assert_ne!(r.code, -1, "hung on a FIFO: {r:?}");
}

/// root.json that is a symbolic link is not followed (it could lead anywhere: a FIFO, a
/// device, another user's file), and init replaces a link rather than writing through it.
#[test]
fn symlinks_in_the_metadata_dir_are_not_followed() {
    let repo = Repo::new();
    let server = served(&repo);
    let c = Client::new(&server);
    let elsewhere = c.dir.path().join("elsewhere.json");
    std::fs::write(&elsewhere, b"do not touch").unwrap();
    std::os::unix::fs::symlink(&elsewhere, c.md().join("root.json")).unwrap();
    ok(c.init(&repo.root_bytes(1)));
    assert_eq!(std::fs::read(&elsewhere).unwrap(), b"do not touch");
    assert!(!c.md().join("root.json").is_symlink());
    // A link to a good root placed later is refused, not read.
    let good = c.dir.path().join("good_root.json");
    std::fs::write(&good, repo.root_bytes(1)).unwrap();
    std::fs::remove_file(c.md().join("root.json")).unwrap();
    std::os::unix::fs::symlink(&good, c.md().join("root.json")).unwrap();
    let e = fails(c.refresh());
    assert!(e.contains("root.json"), "{e}");
    assert_eq!(server.requests(), 0);
    // A link to a FIFO: refused at once, no hang.
    let fifo = c.dir.path().join("fifo");
    mkfifo(&fifo);
    std::fs::remove_file(c.md().join("root.json")).unwrap();
    std::os::unix::fs::symlink(&fifo, c.md().join("root.json")).unwrap();
    let r = c.refresh();
    assert_ne!(r.code, -1, "hung: {r:?}");
    fails(r);
}

/// In the target directory, a FIFO or a link under a target's name is neither read as a
/// cached copy nor written through: the verified file replaces it.
#[test]
fn fifos_and_links_in_the_target_dir_are_replaced_not_followed() {
    let mut repo = Repo::new();
    repo.add_target("targets", "a.txt", b"genuine a");
    repo.add_target("targets", "b.txt", b"genuine b");
    repo.update_targets();
    let server = served(&repo);
    let c = started(&repo, &server);
    mkfifo(&c.td().join("a.txt"));
    let r = c.download("a.txt");
    assert_ne!(r.code, -1, "hung on a FIFO: {r:?}");
    ok(r);
    assert_eq!(std::fs::read(c.td().join("a.txt")).unwrap(), b"genuine a");
    // A link to a file that has the right bytes is still not a download.
    let outside = c.dir.path().join("outside");
    std::fs::write(&outside, b"genuine b").unwrap();
    std::os::unix::fs::symlink(&outside, c.td().join("b.txt")).unwrap();
    ok(c.download("b.txt"));
    assert!(!c.td().join("b.txt").is_symlink());
    assert_eq!(std::fs::read(&outside).unwrap(), b"genuine b");
    let h = sha256_hex(b"genuine b");
    assert_eq!(
        server.requests_for("GET", &format!("/targets/{h}.b.txt")),
        1
    );
    // The target dir itself may be a link (the user chose it).
    let real = c.dir.path().join("real-targets");
    std::fs::create_dir(&real).unwrap();
    std::fs::remove_dir_all(c.td()).unwrap();
    std::os::unix::fs::symlink(&real, c.td()).unwrap();
    ok(c.download("a.txt"));
    assert_eq!(std::fs::read(real.join("a.txt")).unwrap(), b"genuine a");
}

// ---------------------------------------------------------------------------------------
// Key types: an RSA PKCS #1 v1.5 repository, keys and signatures made by OpenSSL.

struct OpensslKey {
    key: PathBuf,
    public_pem: String,
}

fn openssl_rsa(dir: &Path, name: &str) -> OpensslKey {
    let key = dir.join(format!("{name}.key"));
    let st = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    OpensslKey {
        key,
        public_pem: String::from_utf8(out.stdout).unwrap(),
    }
}

fn openssl_sign(k: &OpensslKey, msg: &[u8]) -> String {
    let dir = k.key.parent().unwrap();
    let m = dir.join("msg");
    std::fs::write(&m, msg).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&k.key)
        .arg(&m)
        .output()
        .unwrap();
    assert!(out.status.success());
    hex::encode(out.stdout)
}

#[test]
fn an_rsa_pkcs1v15_repository_signed_by_openssl() {
    let keys_dir = tempfile::tempdir().unwrap();
    let k = openssl_rsa(keys_dir.path(), "all");
    let key_obj = json!({"keytype": "rsa", "scheme": "rsa-pkcs1v15-sha256",
                         "keyval": {"public": k.public_pem}});
    let kid = sha256_hex(&mirrorproof::schemes::tuf::canonical::encode(&key_obj).unwrap());
    let repo = Repo::new();
    let expires = repo.md["root"]["expires"].clone();
    let role = json!({"keyids": [kid], "threshold": 1});
    let signed = |v: &Value| {
        let msg = mirrorproof::schemes::tuf::canonical::encode(v).unwrap();
        serde_json::to_vec(&json!({"signed": v,
            "signatures": [{"keyid": kid, "sig": openssl_sign(&k, &msg)}]}))
        .unwrap()
    };
    let root = json!({"_type": "root", "spec_version": "1.0.31", "version": 1,
        "expires": expires, "consistent_snapshot": false, "keys": {kid.clone(): key_obj},
        "roles": {"root": role, "timestamp": role, "snapshot": role, "targets": role}});
    let data = b"signed by openssl";
    let targets = json!({"_type": "targets", "spec_version": "1.0.31", "version": 1,
        "expires": expires, "targets": {"t.bin": {"length": data.len(),
        "hashes": {"sha256": sha256_hex(data)}}}});
    let snapshot = json!({"_type": "snapshot", "spec_version": "1.0.31", "version": 1,
        "expires": expires, "meta": {"targets.json": {"version": 1}}});
    let timestamp = json!({"_type": "timestamp", "spec_version": "1.0.31", "version": 1,
        "expires": expires, "meta": {"snapshot.json": {"version": 1}}});
    let md = repo.path().join("metadata");
    let root_bytes = signed(&root);
    std::fs::write(md.join("1.root.json"), &root_bytes).unwrap();
    std::fs::remove_file(md.join("2.root.json")).ok();
    std::fs::write(md.join("targets.json"), signed(&targets)).unwrap();
    std::fs::write(md.join("snapshot.json"), signed(&snapshot)).unwrap();
    std::fs::write(md.join("timestamp.json"), signed(&timestamp)).unwrap();
    repo.serve_target("t.bin", data);
    let server = served(&repo);
    let c = Client::new(&server);
    ok(c.init(&root_bytes));
    ok(c.download("t.bin"));
    assert_eq!(c.downloaded(), vec![data.to_vec()]);
    // Flip one byte of the timestamp signature: refused.
    let mut bad: Value = serde_json::from_slice(&signed(&timestamp)).unwrap();
    bad["signed"]["version"] = json!(2);
    std::fs::write(md.join("timestamp.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
    let e = fails(c.refresh());
    assert!(e.contains("timestamp: signature threshold not met"), "{e}");
}
