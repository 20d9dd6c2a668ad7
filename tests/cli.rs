//! End-to-end tests of the `mirrorproof` binary.
//!
//! Every world here (keys, roots, releases, mirror trees) is built by the binary's own
//! publisher commands (`keygen`, `root new`, `release new`, `sign`, `mirror build`), which is
//! what shows that anyone can produce the native format offline. The only hand-made bytes
//! are the ones an attacker or a careless user would make: garbage files, a tampered
//! artifact, a spliced signature.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");

/// What one run of the binary produced.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    fn describe(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "unexpected exit code:\n{}",
            self.describe()
        );
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked:\n{}",
            self.describe()
        );
        self
    }

    /// Exit 2 with exactly one line on stderr, starting with "mirrorproof:", no panic.
    #[track_caller]
    fn expect_usage_error(&self) -> &Self {
        self.expect_code(2);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "stderr must be exactly one line:\n{}",
            self.describe()
        );
        assert!(
            lines[0].starts_with("mirrorproof:") && lines[0].len() > "mirrorproof: ".len(),
            "stderr must start with \"mirrorproof:\" and say why:\n{}",
            self.describe()
        );
        self
    }

    /// Exit 2 from clap's own argument parsing (any message, but no panic).
    #[track_caller]
    fn expect_clap_error(&self) -> &Self {
        self.expect_code(2);
        assert!(!self.stderr.is_empty(), "{}", self.describe());
        assert!(self.stdout.is_empty(), "{}", self.describe());
        self
    }
}

/// A private directory holding keys, documents, artifacts and mirror trees, plus a way to
/// run the binary inside it.
struct World {
    dir: TempDir,
}

const ROOT_KEY: &str = "keys/root";
const RELEASE_KEYS: [&str; 3] = ["keys/rel1", "keys/rel2", "keys/rel3"];

impl World {
    fn empty() -> World {
        World {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Keys (1 root key, 3 release keys), a root with release threshold 2 of 3, signed by
    /// its root key and written to `root.json`.
    fn with_root() -> World {
        let w = World::empty();
        std::fs::create_dir(w.path("keys")).unwrap();
        for k in [ROOT_KEY].iter().chain(RELEASE_KEYS.iter()) {
            w.ok(&["keygen", "--out", k]);
        }
        w.new_root("root.json", "+365d");
        w.ok(&["sign", "--key", &format!("{ROOT_KEY}.key"), "root.json"]);
        w
    }

    /// The standard world: stable v1 (signed by rel1+rel2) and v2 (signed by rel2+rel3);
    /// mirrors `m/fr1`, `m/fr2`, `m/de1` serve v2, `m/old` serves v1; `profile.toml`
    /// lists fr1 (FR), de1 (DE), fr2 (FR) in that order.
    fn standard() -> World {
        let w = World::with_root();
        w.release(
            "stable",
            1,
            &[
                ("a.txt", b"alpha one\n"),
                ("sub/b.bin", b"\x00\x01bravo one"),
            ],
            &["keys/rel1", "keys/rel2"],
            "+30d",
        );
        w.release(
            "stable",
            2,
            &[
                ("a.txt", b"alpha two\n"),
                ("sub/b.bin", b"\x00\x01bravo two"),
                ("sub/deeper/c.iso", b"charlie"),
            ],
            &["keys/rel2", "keys/rel3"],
            "+30d",
        );
        for m in ["fr1", "fr2", "de1"] {
            w.mirror(m, "stable", 2);
        }
        w.mirror("old", "stable", 1);
        w.profile(
            "profile.toml",
            &[("m/fr1", "FR"), ("m/de1", "DE"), ("m/fr2", "FR")],
        );
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn abs(&self, rel: &str) -> String {
        self.path(rel).to_str().expect("UTF-8 temp path").to_owned()
    }

    /// Runs the binary in the world's directory, with the user's data directory pointed
    /// inside it so that nothing outside the world is ever read or written.
    fn run(&self, args: &[&str]) -> Out {
        let out = self.command(args).output().expect("run mirrorproof");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let home = self.path(".home");
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("RUST_BACKTRACE", "0");
        for v in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            cmd.env_remove(v);
        }
        cmd
    }

    /// Like [`World::run`], but kills the process and returns `None` if it has not ended
    /// after `limit` (a watchdog against hangs, not a speed measurement).
    fn run_with_watchdog(&self, args: &[&str], limit: Duration) -> Option<Out> {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run mirrorproof");
        let start = Instant::now();
        while child.try_wait().expect("wait").is_none() {
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("collect output");
        Some(Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args);
        assert_eq!(
            out.code,
            0,
            "mirrorproof {args:?} failed:\n{}",
            out.describe()
        );
        out
    }

    fn write(&self, rel: &str, bytes: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn read_json(&self, rel: &str) -> Value {
        serde_json::from_slice(&self.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn keyid(&self, key: &str) -> String {
        self.read_json(&format!("{key}.pub"))["keyid"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `root new` with the standard keys: 1 root key, release threshold 2 of 3.
    fn new_root(&self, out: &str, expires: &str) {
        let root_pub = format!("{ROOT_KEY}.pub");
        let rel: Vec<String> = RELEASE_KEYS.iter().map(|k| format!("{k}.pub")).collect();
        self.ok(&[
            "root",
            "new",
            "--project",
            "demo",
            &format!("--expires={expires}"),
            "--root-key",
            &root_pub,
            "--release-key",
            &rel[0],
            "--release-key",
            &rel[1],
            "--release-key",
            &rel[2],
            "--release-threshold",
            "2",
            "--out",
            out,
        ]);
    }

    /// Writes the artifacts to `art/CHANNEL-VERSION/`, makes `rel/CHANNEL-VERSION.json`
    /// with `release new` and has each of `signers` sign it in turn.
    fn release(
        &self,
        channel: &str,
        version: u64,
        files: &[(&str, &[u8])],
        signers: &[&str],
        expires: &str,
    ) -> String {
        let art = format!("art/{channel}-{version}");
        for (name, bytes) in files {
            self.write(&format!("{art}/{name}"), bytes);
        }
        let env = format!("rel/{channel}-{version}.json");
        std::fs::create_dir_all(self.path("rel")).unwrap();
        self.ok(&[
            "release",
            "new",
            "--project",
            "demo",
            "--channel",
            channel,
            "--version",
            &version.to_string(),
            &format!("--expires={expires}"),
            "--artifacts",
            &art,
            "--out",
            &env,
        ]);
        for s in signers {
            self.ok(&["sign", "--key", &format!("{s}.key"), &env]);
        }
        env
    }

    /// `mirror build` of `rel/CHANNEL-VERSION.json` into `m/NAME`, with its artifacts and
    /// the pinned root.
    fn mirror(&self, name: &str, channel: &str, version: u64) {
        self.ok(&[
            "mirror",
            "build",
            "--out",
            &format!("m/{name}"),
            "--release",
            &format!("rel/{channel}-{version}.json"),
            "--artifacts",
            &format!("art/{channel}-{version}"),
            "--root",
            "root.json",
        ]);
    }

    fn profile(&self, file: &str, mirrors: &[(&str, &str)]) {
        let mut s = String::from(
            "name = \"demo-profile\"\nscheme = \"native\"\n\
             root = \"root.json\"\nchannel = \"stable\"\n",
        );
        for (url, cc) in mirrors {
            s.push_str(&format!(
                "\n[[mirrors]]\nurl = \"{url}\"\ncountry = \"{cc}\"\n"
            ));
        }
        self.write(file, s.as_bytes());
    }

    fn check_json(&self, args: &[&str]) -> (Out, Value) {
        let mut all = vec!["check"];
        all.extend_from_slice(args);
        all.push("--json");
        let out = self.run(&all);
        assert!(
            out.code == 0 || out.code == 1,
            "check {args:?}:\n{}",
            out.describe()
        );
        let v = out.json();
        assert_report_shape(&v);
        (out, v)
    }
}

/// Splits a command line on whitespace (for arguments without spaces).
fn argv(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of the decoded payload of an envelope file, as the report states it.
fn payload_sha256(env: &Value) -> String {
    let payload = base64::engine::general_purpose::STANDARD
        .decode(env["payload"].as_str().unwrap())
        .unwrap();
    sha256_hex(&payload)
}

fn is_hex64(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

const STATUSES: [&str; 9] = [
    "unreachable",
    "invalid",
    "equivocating",
    "expired",
    "rollback",
    "stale",
    "corrupt",
    "incomplete",
    "ok",
];

/// Checks the whole shape of a `mirrorproof.report/1` document (CLI.md), and the
/// invariants that tie its parts together.
#[track_caller]
fn assert_report_shape(v: &Value) {
    let obj = v.as_object().expect("report is an object");
    for key in [
        "schema",
        "profile",
        "channel",
        "checked_at",
        "ok",
        "independent",
        "latest",
        "mirrors",
        "countries",
        "equivocations",
    ] {
        assert!(obj.contains_key(key), "report lacks {key:?}: {v:#}");
    }
    assert_eq!(v["schema"], "mirrorproof.report/1");
    assert!(v["profile"].is_string());
    assert!(v["channel"].is_string());
    let at = v["checked_at"].as_str().expect("checked_at is a string");
    assert!(
        at.len() >= 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "checked_at {at:?} is not RFC 3339 UTC"
    );
    assert!(v["ok"].is_boolean());
    assert!(v["independent"].is_boolean());
    match &v["latest"] {
        Value::Null => {}
        l => {
            assert!(l["version"].is_u64(), "latest.version: {l}");
            assert!(is_hex64(&l["payload_sha256"]), "latest.payload_sha256: {l}");
        }
    }
    let mirrors = v["mirrors"].as_array().expect("mirrors is an array");
    for m in mirrors {
        for key in [
            "url",
            "country",
            "status",
            "version",
            "payload_sha256",
            "signers",
            "artifacts",
            "elapsed_ms",
            "error",
        ] {
            assert!(
                m.as_object().unwrap().contains_key(key),
                "mirror lacks {key:?}: {m:#}"
            );
        }
        assert!(m["url"].is_string());
        let cc = m["country"].as_str().expect("country");
        assert!(
            cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_uppercase()),
            "country {cc:?}"
        );
        let status = m["status"].as_str().expect("status is a string");
        assert!(STATUSES.contains(&status), "unknown status {status:?}");
        assert!(m["version"].is_null() || m["version"].is_u64());
        assert!(m["payload_sha256"].is_null() || is_hex64(&m["payload_sha256"]));
        let signers = m["signers"].as_array().expect("signers is an array");
        assert!(signers.iter().all(is_hex64), "signers: {m:#}");
        for a in m["artifacts"].as_array().expect("artifacts is an array") {
            assert!(a["name"].is_string(), "artifact name: {a}");
            let st = a["status"].as_str().expect("artifact status");
            assert!(
                ["ok", "missing", "corrupt", "error", "skipped"].contains(&st),
                "artifact status {st:?}"
            );
        }
        assert!(m["elapsed_ms"].is_u64(), "elapsed_ms: {m:#}");
        if status == "ok" {
            assert!(m["error"].is_null(), "ok mirror with an error: {m:#}");
            assert_eq!(m["version"], v["latest"]["version"]);
            assert_eq!(m["payload_sha256"], v["latest"]["payload_sha256"]);
        } else {
            let e = m["error"].as_str().unwrap_or_else(|| {
                panic!("mirror with status {status} has no error string: {m:#}")
            });
            assert!(
                !e.trim().is_empty() && !e.contains('\n') && !e.contains('\r'),
                "error must be a non-empty single line: {e:?}"
            );
        }
        if matches!(status, "unreachable" | "invalid") {
            assert!(m["version"].is_null(), "{m:#}");
            assert!(m["payload_sha256"].is_null(), "{m:#}");
            assert!(signers.is_empty(), "{m:#}");
        } else {
            assert!(m["version"].is_u64(), "{m:#}");
            assert!(is_hex64(&m["payload_sha256"]), "{m:#}");
            assert!(
                signers.len() >= 2,
                "a valid release has >= 2 signers: {m:#}"
            );
        }
    }
    // countries agree with the mirror list
    let countries = v["countries"].as_object().expect("countries is an object");
    let ccs: BTreeSet<&str> = mirrors
        .iter()
        .map(|m| m["country"].as_str().unwrap())
        .collect();
    assert_eq!(
        countries
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        ccs
    );
    for (cc, c) in countries {
        let here: Vec<&Value> = mirrors.iter().filter(|m| m["country"] == *cc).collect();
        assert_eq!(c["mirrors"].as_u64(), Some(here.len() as u64), "{cc}: {c}");
        let oks = here.iter().filter(|m| m["status"] == "ok").count();
        assert_eq!(c["ok"].as_u64(), Some(oks as u64), "{cc}: {c}");
        let statuses = c["statuses"].as_object().expect("statuses is an object");
        for (st, n) in statuses {
            let count = here.iter().filter(|m| m["status"] == st.as_str()).count();
            assert_eq!(n.as_u64(), Some(count as u64), "{cc} {st}: {c}");
        }
        let total: u64 = statuses.values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(total, here.len() as u64, "{cc}: {c}");
    }
    for e in v["equivocations"]
        .as_array()
        .expect("equivocations is an array")
    {
        assert!(e["version"].is_u64(), "{e}");
        let hashes = e["payload_sha256"].as_array().expect("payload_sha256 list");
        assert!(hashes.len() >= 2 && hashes.iter().all(is_hex64), "{e}");
        assert!(
            e["mirrors"]
                .as_array()
                .expect("mirrors list")
                .iter()
                .all(Value::is_string)
        );
    }
    // ok is exactly "every mirror ok and nothing equivocated"
    let all_ok = !mirrors.is_empty()
        && mirrors.iter().all(|m| m["status"] == "ok")
        && v["equivocations"].as_array().unwrap().is_empty();
    assert_eq!(v["ok"].as_bool(), Some(all_ok), "ok flag: {v:#}");
}

fn mirror_by_url<'a>(v: &'a Value, url: &str) -> &'a Value {
    v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["url"] == url)
        .unwrap_or_else(|| panic!("no mirror {url} in {v:#}"))
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["url"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// keygen

#[test]
fn keygen_writes_private_secret_and_matching_public_key() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::empty();
    let out = w.ok(&["keygen", "--out", "alice"]);

    let secret_meta = std::fs::metadata(w.path("alice.key")).unwrap();
    assert_eq!(
        secret_meta.permissions().mode() & 0o777,
        0o600,
        "secret key must be mode 0600"
    );

    let secret = w.read_json("alice.key");
    let seed = secret["seed"].as_str().expect("secret file has a seed");
    assert_eq!(seed.len(), 64, "seed is 32 bytes in hex");
    for stream in [&out.stdout, &out.stderr] {
        assert!(!stream.contains(seed), "the secret seed was printed");
        assert!(
            !stream.to_ascii_lowercase().contains(&seed[..16]),
            "part of the secret seed was printed"
        );
    }

    let public = w.read_json("alice.pub");
    assert_eq!(public["keytype"], "ed25519");
    let pk = hex::decode(public["public"].as_str().unwrap()).unwrap();
    assert_eq!(pk.len(), 32);
    let keyid = public["keyid"].as_str().unwrap();
    assert_eq!(keyid, sha256_hex(&pk), "keyid must be sha256(public key)");
    assert_eq!(secret["keyid"], keyid);
    assert!(out.stdout.contains(keyid), "keygen prints the key id");
    let pub_text = String::from_utf8(w.read("alice.pub")).unwrap();
    assert!(!pub_text.contains(seed), "the public file holds the seed");

    // Two runs give two different keys.
    w.ok(&["keygen", "--out", "bob"]);
    assert_ne!(w.keyid("bob"), keyid);
}

#[test]
fn keygen_refuses_to_overwrite_a_key() {
    let w = World::empty();
    w.ok(&["keygen", "--out", "k"]);
    let (secret, public) = (w.read("k.key"), w.read("k.pub"));

    let again = w.run(&["keygen", "--out", "k"]);
    again.expect_usage_error();
    assert_eq!(w.read("k.key"), secret, "the secret key was changed");
    assert_eq!(w.read("k.pub"), public, "the public key was changed");
    let seed = w.read_json("k.key")["seed"].as_str().unwrap().to_owned();
    assert!(!again.stdout.contains(&seed) && !again.stderr.contains(&seed));

    // Only one half present is still a key not to overwrite.
    std::fs::remove_file(w.path("k.pub")).unwrap();
    w.run(&["keygen", "--out", "k"]).expect_usage_error();
    assert_eq!(w.read("k.key"), secret);
    w.ok(&["keygen", "--out", "j"]);
    std::fs::remove_file(w.path("j.key")).unwrap();
    let pub_j = w.read("j.pub");
    w.run(&["keygen", "--out", "j"]).expect_usage_error();
    assert_eq!(w.read("j.pub"), pub_j);
    assert!(!w.path("j.key").exists());
}

// ---------------------------------------------------------------------------------------
// The publisher flow, end to end

#[test]
fn full_publisher_flow_then_check_is_all_ok() {
    let w = World::empty();
    std::fs::create_dir(w.path("keys")).unwrap();
    for k in [ROOT_KEY].iter().chain(RELEASE_KEYS.iter()) {
        w.ok(&["keygen", "--out", k]);
    }
    let ids: Vec<String> = RELEASE_KEYS.iter().map(|k| w.keyid(k)).collect();
    let root_id = w.keyid(ROOT_KEY);

    // Root: 2 of 3 release keys, signed by the root key.
    w.new_root("root.json", "+365d");
    assert!(
        w.read_json("root.json")["signatures"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    w.ok(&["sign", "--key", &format!("{ROOT_KEY}.key"), "root.json"]);
    let root = w.read_json("root.json");
    assert_eq!(root["payloadType"], "application/vnd.mirrorproof.root+json");
    let sigs = root["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0]["keyid"], root_id.as_str());
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(root["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["roles"]["release"]["threshold"], 2);
    assert_eq!(
        payload["roles"]["release"]["keyids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect::<BTreeSet<_>>(),
        ids.iter().cloned().collect::<BTreeSet<_>>()
    );

    // Release from a directory with subdirectories.
    w.write("art/os.img", b"operating system image");
    w.write("art/docs/README", b"read me\n");
    w.write("art/docs/deep/notes.txt", b"notes");
    w.ok(&argv(
        "release new --project demo --channel stable --version 2026112200 \
         --expires +30d --artifacts art --out release.json",
    ));
    let rel = w.read_json("release.json");
    assert_eq!(
        rel["payloadType"],
        "application/vnd.mirrorproof.release+json"
    );
    let doc: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(rel["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let names: BTreeSet<&str> = doc["artifacts"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["os.img", "docs/README", "docs/deep/notes.txt"])
    );
    assert_eq!(doc["artifacts"]["docs/deep/notes.txt"]["length"], 5);
    assert_eq!(
        doc["artifacts"]["os.img"]["sha256"],
        sha256_hex(b"operating system image").as_str()
    );

    // Threshold signing by two key holders, each on their own copy.
    w.ok(&argv(
        "sign --key keys/rel1.key release.json --out release.one.json",
    ));
    assert!(
        w.read_json("release.json")["signatures"]
            .as_array()
            .unwrap()
            .is_empty(),
        "--out must leave the input alone"
    );
    let twice = w.run(&argv("sign --key keys/rel1.key release.one.json"));
    twice.expect_usage_error();
    assert_eq!(
        w.read_json("release.one.json")["signatures"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "a failed second signature must not change the envelope"
    );
    w.ok(&argv(
        "sign --key keys/rel3.key release.one.json --out release.two.json",
    ));
    let signed = w.read_json("release.two.json");
    let signers: BTreeSet<&str> = signed["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["keyid"].as_str().unwrap())
        .collect();
    assert_eq!(signers, BTreeSet::from([ids[0].as_str(), ids[2].as_str()]));

    // Mirrors: three good ones, and one carrying the under-signed envelope.
    for m in ["paris", "lyon", "berlin"] {
        w.ok(&[
            "mirror",
            "build",
            "--out",
            &format!("m/{m}"),
            "--release",
            "release.two.json",
            "--artifacts",
            "art",
            "--root",
            "root.json",
        ]);
    }
    w.ok(&argv(
        "mirror build --out m/half --release release.one.json --artifacts art",
    ));
    for rel in [
        "stable/release.json",
        "root/1.json",
        "artifacts/os.img",
        "artifacts/docs/README",
        "artifacts/docs/deep/notes.txt",
    ] {
        assert!(w.path(&format!("m/paris/{rel}")).is_file(), "{rel}");
    }
    assert_eq!(
        w.read("m/berlin/artifacts/docs/deep/notes.txt"),
        b"notes".to_vec()
    );

    w.profile(
        "profile.toml",
        &[("m/paris", "FR"), ("m/lyon", "fr"), ("m/berlin", "DE")],
    );
    let (out, v) = w.check_json(&["profile.toml", "--no-state"]);
    out.expect_code(0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["independent"], true);
    assert_eq!(v["latest"]["version"], 2026112200u64);
    assert_eq!(
        v["latest"]["payload_sha256"],
        payload_sha256(&signed).as_str()
    );
    assert_eq!(v["mirrors"].as_array().unwrap().len(), 3);
    for m in v["mirrors"].as_array().unwrap() {
        assert_eq!(m["status"], "ok", "{m:#}");
        let got: BTreeSet<&str> = m["signers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(got, signers);
        let arts: BTreeSet<&str> = m["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                assert_eq!(a["status"], "ok");
                a["name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(arts, names);
    }
    assert_eq!(v["countries"]["FR"]["mirrors"], 2);
    assert_eq!(v["countries"]["FR"]["ok"], 2);

    // The envelope signed by one key only is below the threshold: invalid.
    let half = w.abs("m/half");
    let (out, v) = w.check_json(&[
        "profile.toml",
        "--no-state",
        "--mirror",
        &format!("{half}=NL"),
    ]);
    out.expect_code(1);
    let m = mirror_by_url(&v, &half);
    assert_eq!(m["status"], "invalid", "{m:#}");
    assert_eq!(m["country"], "NL");
    assert!(m["error"].as_str().unwrap().contains("threshold"), "{m:#}");
}

// ---------------------------------------------------------------------------------------
// Exit codes

#[test]
fn exit_0_when_every_mirror_is_ok_and_1_when_any_is_not() {
    let w = World::standard();
    w.ok(&["check", "profile.toml", "--no-state"]);

    // stale: a good mirror plus one serving the older signed release
    let old = w.abs("m/old");
    let out = w.run(&[
        "check",
        "profile.toml",
        "--no-state",
        "--mirror",
        &format!("{old}=SE"),
    ]);
    out.expect_code(1);
    assert!(out.stdout.contains("stale"), "{}", out.describe());

    // unreachable
    let gone = w.abs("m/does-not-exist");
    let out = w.run(&[
        "check",
        "profile.toml",
        "--no-state",
        "--mirror",
        &format!("{gone}=SE"),
    ]);
    out.expect_code(1);
    assert!(out.stdout.contains("unreachable"), "{}", out.describe());

    // corrupt: same length, different bytes
    w.write("m/de1/artifacts/a.txt", b"alpha TWO\n");
    let out = w.run(&["check", "profile.toml", "--no-state"]);
    out.expect_code(1);
    assert!(out.stdout.contains("corrupt"), "{}", out.describe());

    // with artifacts not checked, the same tree passes; by size too (same length)
    w.ok(&argv("check profile.toml --no-state --artifacts none"));
    w.ok(&argv("check profile.toml --no-state --artifacts size"));
}

#[test]
fn each_problem_gets_its_status() {
    let w = World::standard();
    // expired: a validly signed release whose time is up
    w.release(
        "stable",
        3,
        &[("a.txt", b"alpha three\n")],
        &["keys/rel1", "keys/rel3"],
        "2020-01-01T00:00:00Z",
    );
    w.mirror("frozen", "stable", 3);
    // corrupt and incomplete copies of v2
    w.mirror("bad", "stable", 2);
    w.write("m/bad/artifacts/sub/deeper/c.iso", b"CHARLIE");
    w.mirror("partial", "stable", 2);
    std::fs::remove_file(w.path("m/partial/artifacts/sub/b.bin")).unwrap();
    // invalid: garbage where the release should be
    w.mirror("junk", "stable", 2);
    w.write("m/junk/stable/release.json", b"<html>not found</html>");

    let mut args = vec!["profile.toml".to_owned(), "--no-state".to_owned()];
    for (m, cc) in [
        ("old", "FR"),
        ("frozen", "DE"),
        ("bad", "IT"),
        ("partial", "IT"),
        ("junk", "ES"),
        ("missing", "ES"),
    ] {
        args.push("--mirror".into());
        args.push(format!("{}={cc}", w.abs(&format!("m/{m}"))));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, v) = w.check_json(&args);
    out.expect_code(1);
    let want = [
        ("m/fr1", "ok"),
        ("m/de1", "ok"),
        ("m/fr2", "ok"),
        ("old", "stale"),
        ("frozen", "expired"),
        ("bad", "corrupt"),
        ("partial", "incomplete"),
        ("junk", "invalid"),
        ("missing", "unreachable"),
    ];
    let got = statuses(&v);
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((url, status), (suffix, st)) in got.iter().zip(want) {
        assert!(url.ends_with(suffix), "{url} vs {suffix}");
        assert_eq!(status, st, "{url}: {v:#}");
    }
    let bad = &v["mirrors"][5];
    let c_iso = bad["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "sub/deeper/c.iso")
        .unwrap();
    assert_eq!(c_iso["status"], "corrupt");
    let partial = &v["mirrors"][6];
    let b = partial["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "sub/b.bin")
        .unwrap();
    assert_eq!(b["status"], "missing");
    assert_eq!(v["mirrors"][3]["version"], 1);
    assert_eq!(v["mirrors"][4]["version"], 3);
    // the expired v3 is not "latest"
    assert_eq!(v["latest"]["version"], 2);
    assert_eq!(v["independent"], false);
    assert_eq!(v["countries"]["IT"]["statuses"]["corrupt"], 1);
    assert_eq!(v["countries"]["IT"]["statuses"]["incomplete"], 1);
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let w = World::standard();

    // clap's own errors
    w.run(&["check", "profile.toml", "--frobnicate"])
        .expect_clap_error();
    w.run(&argv("check profile.toml --artifacts bogus"))
        .expect_clap_error();
    w.run(&argv("check profile.toml --state s --no-state"))
        .expect_clap_error();
    w.run(&["frobnicate"]).expect_clap_error();
    w.run(&[]).expect_clap_error();

    // missing, garbage, and over-specified profiles
    w.run(&["check", "no-such-profile.toml", "--no-state"])
        .expect_usage_error();
    w.write("garbage.toml", b"this is [[ not toml = \"\n\x01\x02");
    w.run(&["check", "garbage.toml", "--no-state"])
        .expect_usage_error();
    w.write("binary.toml", b"\xff\xfe\x00\x00garbage");
    w.run(&["check", "binary.toml", "--no-state"])
        .expect_usage_error();
    let good = String::from_utf8(w.read("profile.toml")).unwrap();
    w.write(
        "unknown.toml",
        format!("colour = \"red\"\n{good}").as_bytes(),
    );
    let out = w.run(&["check", "unknown.toml", "--no-state"]);
    out.expect_usage_error();
    assert!(
        out.stderr.contains("colour"),
        "the message names the unknown field:\n{}",
        out.describe()
    );
    let typo = good.replace("country = \"DE\"", "countri = \"DE\"");
    assert_ne!(typo, good);
    w.write("unknown-mirror-field.toml", typo.as_bytes());
    w.run(&["check", "unknown-mirror-field.toml", "--no-state"])
        .expect_usage_error();
    w.write(
        "no-channel.toml",
        b"name = \"x\"\nroot = \"root.json\"\n[[mirrors]]\nurl = \"m/fr1\"\n",
    );
    w.run(&["check", "no-channel.toml", "--no-state"])
        .expect_usage_error();

    // bad option values found after parsing
    let out = w.run(&argv("check profile.toml --no-state --timeout 0"));
    out.expect_usage_error();
    assert!(
        out.stderr.contains("--timeout"),
        "the message names --timeout:\n{}",
        out.describe()
    );
    w.run(&argv("check profile.toml --no-state --only-cli-mirrors"))
        .expect_usage_error();
    w.run(&argv("check profile.toml --no-state --channel ../etc"))
        .expect_usage_error();
    w.run(&argv(
        "check profile.toml --no-state --mirror ftp://example.org/x",
    ))
    .expect_usage_error();
    w.run(&["verify", "profile.toml", "--no-state"])
        .expect_usage_error();

    // none of these printed a report
    for args in [
        &["check", "no-such-profile.toml", "--no-state", "--json"][..],
        &[
            "check",
            "profile.toml",
            "--no-state",
            "--json",
            "--timeout",
            "0",
        ][..],
    ] {
        let out = w.run(args);
        out.expect_usage_error();
        assert!(out.stdout.is_empty(), "{}", out.describe());
    }
}

/// Profiles whose pinned root is unusable.
#[test]
fn bad_pinned_roots_exit_2_with_one_line() {
    let w = World::standard();
    let profile = String::from_utf8(w.read("profile.toml")).unwrap();
    let with_root = |file: &str, root: &str| {
        w.write(
            file,
            profile
                .replace("root = \"root.json\"", &format!("root = \"{root}\""))
                .as_bytes(),
        );
    };

    // garbage
    w.write("garbage-root.json", b"{\"payloadType\": 12, \x00");
    with_root("p-garbage.toml", "garbage-root.json");
    w.run(&["check", "p-garbage.toml", "--no-state"])
        .expect_usage_error();

    // missing
    with_root("p-missing.toml", "no-such-root.json");
    w.run(&["check", "p-missing.toml", "--no-state"])
        .expect_usage_error();

    // a release envelope where the root should be
    with_root("p-release.toml", "rel/stable-2.json");
    w.run(&["check", "p-release.toml", "--no-state"])
        .expect_usage_error();

    // unsigned
    w.new_root("unsigned-root.json", "+365d");
    with_root("p-unsigned.toml", "unsigned-root.json");
    w.run(&["check", "p-unsigned.toml", "--no-state"])
        .expect_usage_error();

    // signed, but by a release key rather than its root key
    w.new_root("wrong-signer-root.json", "+365d");
    w.ok(&argv("sign --key keys/rel1.key wrong-signer-root.json"));
    with_root("p-wrong-signer.toml", "wrong-signer-root.json");
    w.run(&["check", "p-wrong-signer.toml", "--no-state"])
        .expect_usage_error();

    // a real root-key signature, but over different bytes: the root key signed root A;
    // the file carries root B's payload with A's signature.
    w.new_root("b-root.json", "+200d");
    let a = w.read_json("root.json");
    let mut b = w.read_json("b-root.json");
    assert_ne!(a["payload"], b["payload"]);
    b["signatures"] = a["signatures"].clone();
    w.write(
        "spliced-root.json",
        serde_json::to_vec_pretty(&b).unwrap().as_slice(),
    );
    with_root("p-spliced.toml", "spliced-root.json");
    let out = w.run(&["check", "p-spliced.toml", "--no-state"]);
    out.expect_usage_error();
    assert!(
        out.stderr.contains("spliced-root.json"),
        "{}",
        out.describe()
    );

    // the same pinned-root errors stop verify, online and offline
    w.write("dl/a.txt", b"alpha two\n");
    w.run(&argv("verify p-spliced.toml --no-state dl/a.txt"))
        .expect_usage_error();
    w.run(&argv(
        "verify p-spliced.toml --release rel/stable-2.json dl/a.txt",
    ))
    .expect_usage_error();
}

/// BUG: `--max-metadata-bytes 18446744073709551615` panics with "attempt to add with
/// overflow" in `fsutil::read_limited` (`limit + 1`), exit 101; in a release build it wraps
/// to `take(0)` and every file reads as empty.
#[test]
fn huge_max_metadata_bytes_does_not_panic() {
    let w = World::standard();
    let out = w.run(&[
        "check",
        "profile.toml",
        "--no-state",
        "--max-metadata-bytes",
        &u64::MAX.to_string(),
    ]);
    assert!(!out.stderr.contains("panicked"), "{}", out.describe());
    // Either the limit is accepted (everything is small, so all ok) or refused as usage.
    assert!(out.code == 0 || out.code == 2, "{}", out.describe());
    if out.code == 2 {
        out.expect_usage_error();
    }
}

// ---------------------------------------------------------------------------------------
// JSON report

#[test]
fn json_report_shape_with_mixed_mirrors() {
    let w = World::standard();
    w.mirror("bad", "stable", 2);
    w.write("m/bad/artifacts/a.txt", b"tampered!\n");
    let old = w.abs("m/old");
    let bad = w.abs("m/bad");
    let gone = w.abs("m/gone");
    let (out, v) = w.check_json(&[
        "profile.toml",
        "--no-state",
        "--mirror",
        &format!("{old}=FR"),
        "--mirror",
        &format!("{bad}=DE"),
        "--mirror",
        &format!("{gone}=SE"),
    ]);
    out.expect_code(1);
    assert_eq!(v["profile"], "demo-profile");
    assert_eq!(v["channel"], "stable");
    assert_eq!(v["ok"], false);
    // DE has an ok mirror (de1), SE is unreachable: still independent
    assert_eq!(v["independent"], true);
    let env2 = w.read_json("rel/stable-2.json");
    let env1 = w.read_json("rel/stable-1.json");
    assert_eq!(v["latest"]["version"], 2);
    assert_eq!(
        v["latest"]["payload_sha256"],
        payload_sha256(&env2).as_str()
    );
    assert!(v["equivocations"].as_array().unwrap().is_empty());

    let ok = mirror_by_url(&v, "m/fr1");
    assert_eq!(ok["status"], "ok");
    assert!(ok["error"].is_null());
    let ids: BTreeSet<String> = ["keys/rel2", "keys/rel3"]
        .iter()
        .map(|k| w.keyid(k))
        .collect();
    let signers: BTreeSet<String> = ok["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(signers, ids);
    let arts: Vec<(&str, &str)> = ok["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a["status"].as_str().unwrap()))
        .collect();
    assert_eq!(arts.len(), 3);
    assert!(arts.iter().all(|(_, s)| *s == "ok"), "{arts:?}");

    let stale = mirror_by_url(&v, &old);
    assert_eq!(stale["status"], "stale");
    assert_eq!(stale["version"], 1);
    assert_eq!(stale["payload_sha256"], payload_sha256(&env1).as_str());
    assert_eq!(stale["country"], "FR");

    let corrupt = mirror_by_url(&v, &bad);
    assert_eq!(corrupt["status"], "corrupt");
    assert_eq!(corrupt["version"], 2);
    let a = corrupt["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "a.txt")
        .unwrap();
    assert_eq!(a["status"], "corrupt");

    let unreachable = mirror_by_url(&v, &gone);
    assert_eq!(unreachable["status"], "unreachable");
    assert!(unreachable["version"].is_null());
    assert!(unreachable["payload_sha256"].is_null());
    assert_eq!(unreachable["signers"], serde_json::json!([]));
    assert!(!unreachable["error"].as_str().unwrap().is_empty());

    assert_eq!(v["countries"]["FR"]["mirrors"], 3);
    assert_eq!(v["countries"]["FR"]["ok"], 2);
    assert_eq!(v["countries"]["FR"]["statuses"]["ok"], 2);
    assert_eq!(v["countries"]["FR"]["statuses"]["stale"], 1);
    assert_eq!(v["countries"]["DE"]["statuses"]["corrupt"], 1);
    assert_eq!(v["countries"]["SE"]["ok"], 0);
    assert_eq!(v["countries"]["SE"]["statuses"]["unreachable"], 1);
}

#[test]
fn json_latest_is_null_when_nothing_is_valid() {
    let w = World::standard();
    w.write(
        "nothing.toml",
        b"name = \"demo-profile\"\nroot = \"root.json\"\nchannel = \"stable\"\n\
          [[mirrors]]\nurl = \"m/nowhere\"\ncountry = \"US\"\n\
          [[mirrors]]\nurl = \"m/elsewhere\"\ncountry = \"JP\"\n",
    );
    let (out, v) = w.check_json(&["nothing.toml", "--no-state"]);
    out.expect_code(1);
    assert!(v["latest"].is_null(), "{v:#}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["independent"], false);
    for m in v["mirrors"].as_array().unwrap() {
        assert_eq!(m["status"], "unreachable");
        assert!(m["version"].is_null() && m["payload_sha256"].is_null());
        assert!(m["signers"].as_array().unwrap().is_empty());
        assert!(m["artifacts"].as_array().unwrap().is_empty());
    }

    // A mirror whose only release is signed below the threshold is invalid, not latest.
    w.release("stable", 9, &[("a.txt", b"nine")], &["keys/rel1"], "+30d");
    w.mirror("weak", "stable", 9);
    let weak = w.abs("m/weak");
    let (out, v) = w.check_json(&[
        "profile.toml",
        "--no-state",
        "--only-cli-mirrors",
        "--mirror",
        &format!("{weak}=US"),
    ]);
    out.expect_code(1);
    assert!(v["latest"].is_null(), "{v:#}");
    assert_eq!(v["mirrors"][0]["status"], "invalid");
    assert!(v["mirrors"][0]["version"].is_null());
    assert!(v["mirrors"][0]["signers"].as_array().unwrap().is_empty());
}

#[test]
fn equivocation_is_reported_and_fails() {
    let w = World::standard();
    // The release keys sign two different histories under one version number.
    w.release(
        "stable",
        3,
        &[("a.txt", b"three, first")],
        &["keys/rel1", "keys/rel2"],
        "+30d",
    );
    w.mirror("left", "stable", 3);
    std::fs::remove_dir_all(w.path("art/stable-3")).unwrap();
    std::fs::remove_file(w.path("rel/stable-3.json")).unwrap();
    w.release(
        "stable",
        3,
        &[("a.txt", b"three, other")],
        &["keys/rel2", "keys/rel3"],
        "+30d",
    );
    w.mirror("right", "stable", 3);
    let (left, right) = (w.abs("m/left"), w.abs("m/right"));
    let (out, v) = w.check_json(&[
        "profile.toml",
        "--no-state",
        "--mirror",
        &format!("{left}=FR"),
        "--mirror",
        &format!("{right}=DE"),
    ]);
    out.expect_code(1);
    assert_eq!(mirror_by_url(&v, &left)["status"], "equivocating");
    assert_eq!(mirror_by_url(&v, &right)["status"], "equivocating");
    let eq = v["equivocations"].as_array().unwrap();
    assert_eq!(eq.len(), 1, "{v:#}");
    assert_eq!(eq[0]["version"], 3);
    let hashes: BTreeSet<&str> = eq[0]["payload_sha256"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(hashes.len(), 2);
    assert!(hashes.contains(payload_sha256(&w.read_json("m/right/stable/release.json")).as_str()));
    assert!(hashes.contains(payload_sha256(&w.read_json("m/left/stable/release.json")).as_str()));
    let mirrors: BTreeSet<&str> = eq[0]["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(mirrors, BTreeSet::from([left.as_str(), right.as_str()]));
    assert_eq!(v["independent"], false);

    // verify refuses to pick one
    w.write("dl/a.txt", b"three, other");
    w.run(&[
        "verify",
        "profile.toml",
        "--no-state",
        "--mirror",
        &format!("{left}=FR"),
        "--mirror",
        &format!("{right}=DE"),
        "dl/a.txt",
    ])
    .expect_code(1);
}

// ---------------------------------------------------------------------------------------
// Mirror selection and channels

#[test]
fn mirror_flag_adds_and_only_cli_mirrors_replaces() {
    let w = World::standard();
    w.profile("one.toml", &[("m/fr1", "FR"), ("m/broken", "BE")]);
    let de1 = w.abs("m/de1");

    // added to the profile's list, country upper-cased
    let (out, v) = w.check_json(&["one.toml", "--no-state", "--mirror", &format!("{de1}=de")]);
    out.expect_code(1); // m/broken is unreachable
    let urls: Vec<String> = statuses(&v).into_iter().map(|(u, _)| u).collect();
    assert_eq!(
        urls,
        vec!["m/fr1".to_owned(), "m/broken".into(), de1.clone()]
    );
    assert_eq!(mirror_by_url(&v, &de1)["country"], "DE");
    assert_eq!(mirror_by_url(&v, &de1)["status"], "ok");

    // replacing the list drops the broken mirror; file:// URLs and a mirror without a
    // country are accepted too
    let fr2_url = format!("file://{}", w.abs("m/fr2"));
    let fr1 = w.abs("m/fr1");
    let (out, v) = w.check_json(&[
        "one.toml",
        "--no-state",
        "--only-cli-mirrors",
        "--mirror",
        &format!("{de1}=DE"),
        "--mirror",
        &format!("{fr2_url}=SE"),
        "--mirror",
        &fr1,
    ]);
    out.expect_code(0);
    let got = statuses(&v);
    assert_eq!(
        got,
        vec![
            (de1.clone(), "ok".to_owned()),
            (fr2_url.clone(), "ok".to_owned()),
            (fr1.clone(), "ok".to_owned())
        ]
    );
    assert_eq!(mirror_by_url(&v, &fr2_url)["country"], "SE");
    let unlabelled = mirror_by_url(&v, &fr1)["country"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(unlabelled.len(), 2);
    assert!(v["countries"].get("BE").is_none());
}

#[test]
fn channel_flag_selects_another_channel() {
    let w = World::standard();
    w.release(
        "beta",
        7,
        &[("beta/a.txt", b"alpha beta\n")],
        &["keys/rel1", "keys/rel3"],
        "+30d",
    );
    // the beta channel is published into the same mirror trees as stable
    for m in ["fr1", "fr2", "de1"] {
        w.mirror(m, "beta", 7);
    }
    assert!(w.path("m/fr1/beta/release.json").is_file());
    assert!(w.path("m/fr1/stable/release.json").is_file());

    let (out, v) = w.check_json(&argv("profile.toml --no-state --channel beta"));
    out.expect_code(0);
    assert_eq!(v["channel"], "beta");
    assert_eq!(v["latest"]["version"], 7);
    assert_eq!(
        v["latest"]["payload_sha256"],
        payload_sha256(&w.read_json("rel/beta-7.json")).as_str()
    );
    assert_eq!(v["mirrors"][0]["artifacts"][0]["name"], "beta/a.txt");

    // stable is untouched
    let (out, v) = w.check_json(&["profile.toml", "--no-state"]);
    out.expect_code(0);
    assert_eq!(v["channel"], "stable");
    assert_eq!(v["latest"]["version"], 2);

    // a channel nobody publishes: every mirror unreachable
    let (out, v) = w.check_json(&argv("profile.toml --no-state --channel nightly"));
    out.expect_code(1);
    assert!(v["latest"].is_null());

    // a beta release served where stable is expected is refused, not trusted
    let sneaky = w.abs("m/sneaky");
    std::fs::create_dir_all(w.path("m/sneaky/stable")).unwrap();
    std::fs::copy(
        w.path("rel/beta-7.json"),
        w.path("m/sneaky/stable/release.json"),
    )
    .unwrap();
    let (out, v) = w.check_json(&[
        "profile.toml",
        "--no-state",
        "--mirror",
        &format!("{sneaky}=FR"),
    ]);
    out.expect_code(1);
    assert_eq!(mirror_by_url(&v, &sneaky)["status"], "invalid");
}

// ---------------------------------------------------------------------------------------
// Rollback state

#[test]
fn state_records_latest_and_catches_rollback() {
    let w = World::standard();
    let state_file = w.path("state/demo/stable.json");
    assert!(!state_file.exists());

    let (out, v) = w.check_json(&["profile.toml", "--state", "state"]);
    out.expect_code(0);
    assert!(state_file.is_file(), "the first run must write the state");
    let st = w.read_json("state/demo/stable.json");
    assert_eq!(st["version"], 2);
    assert_eq!(st["payload_sha256"], v["latest"]["payload_sha256"]);

    // A mirror that now serves the older (validly signed) v1.
    let old = w.abs("m/old");
    let (out, v) = w.check_json(&[
        "profile.toml",
        "--state",
        "state",
        "--only-cli-mirrors",
        "--mirror",
        &format!("{old}=FR"),
    ]);
    out.expect_code(1);
    let m = &v["mirrors"][0];
    assert_eq!(m["status"], "rollback", "{v:#}");
    assert_eq!(m["version"], 1);
    assert!(
        v["latest"].is_null(),
        "a rolled-back release is never latest"
    );
    assert_eq!(
        w.read_json("state/demo/stable.json")["version"],
        2,
        "the state never moves backwards"
    );

    // Alongside good mirrors, the old one is still rollback, not merely stale.
    let (out, v) = w.check_json(&[
        "profile.toml",
        "--state",
        "state",
        "--mirror",
        &format!("{old}=FR"),
    ]);
    out.expect_code(1);
    assert_eq!(mirror_by_url(&v, &old)["status"], "rollback");
    assert_eq!(v["latest"]["version"], 2);

    // --no-state ignores the recorded version: v1 alone is then fine.
    let (out, v) = w.check_json(&[
        "profile.toml",
        "--no-state",
        "--only-cli-mirrors",
        "--mirror",
        &format!("{old}=FR"),
    ]);
    out.expect_code(0);
    assert_eq!(v["mirrors"][0]["status"], "ok");
    assert_eq!(v["latest"]["version"], 1);

    // --no-state writes nothing; the default data directory is untouched too.
    let fresh = w.path("fresh-state");
    w.ok(&["check", "profile.toml", "--no-state"]);
    assert!(!fresh.exists());
    assert!(
        !w.path(".home").exists(),
        "--no-state wrote to the data directory"
    );

    // A damaged state file is a configuration error, never a silent reset.
    w.write("state/demo/stable.json", b"{ damaged");
    w.run(&argv("check profile.toml --state state"))
        .expect_usage_error();
    assert_eq!(w.read("state/demo/stable.json"), b"{ damaged".to_vec());
}

// ---------------------------------------------------------------------------------------
// verify

#[test]
fn verify_online_matches_files_by_name() {
    let w = World::standard();
    w.write("dl/a.txt", b"alpha two\n");
    w.write("dl/b.bin", b"\x00\x01bravo two");
    w.write("dl/c.iso", b"charlie");

    let out = w.ok(&argv(
        "verify profile.toml --no-state dl/a.txt dl/b.bin dl/c.iso",
    ));
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("OK")).count(),
        3,
        "{}",
        out.describe()
    );
    assert!(!out.stdout.contains("FAILED"));

    // modified (same length, one bit) and truncated
    w.write("dl/mod/a.txt", b"alpha twO\n");
    let out = w.run(&argv("verify profile.toml --no-state dl/mod/a.txt"));
    out.expect_code(1);
    assert!(out.stdout.contains("FAILED"), "{}", out.describe());
    w.write("dl/short/c.iso", b"charli");
    w.run(&argv("verify profile.toml --no-state dl/short/c.iso"))
        .expect_code(1);

    // last release's file is not this release's file
    w.write("dl/v1/a.txt", b"alpha one\n");
    w.run(&argv("verify profile.toml --no-state dl/v1/a.txt"))
        .expect_code(1);

    // a name the release does not list
    w.write("dl/evil.exe", b"alpha two\n");
    let out = w.run(&argv("verify profile.toml --no-state dl/evil.exe"));
    out.expect_code(1);
    assert!(out.stdout.contains("evil.exe"), "{}", out.describe());

    // one bad file among good ones fails the whole run
    w.run(&argv("verify profile.toml --no-state dl/a.txt dl/evil.exe"))
        .expect_code(1);

    // a file that does not exist
    w.run(&argv("verify profile.toml --no-state dl/nope/a.txt"))
        .expect_code(1);

    // The release comes from the mirrors: with every mirror dead, nothing verifies.
    w.profile("dead.toml", &[("m/gone1", "FR"), ("m/gone2", "DE")]);
    w.run(&argv("verify dead.toml --no-state dl/a.txt"))
        .expect_code(1);
}

#[test]
fn verify_offline_with_release_envelope() {
    let w = World::standard();
    // every mirror of this profile is missing: nothing can be fetched
    w.profile("offline.toml", &[("m/gone1", "FR"), ("m/gone2", "DE")]);
    w.write("dl/a.txt", b"alpha two\n");
    w.write("dl/c.iso", b"charlie");

    let out = w.ok(&argv(
        "verify offline.toml --release rel/stable-2.json dl/a.txt dl/c.iso",
    ));
    assert!(out.stdout.contains("OK"), "{}", out.describe());
    assert!(
        !w.path(".home").exists(),
        "offline verify must not write state"
    );

    // the envelope as served by a mirror works the same
    w.ok(&argv(
        "verify offline.toml --release m/old/stable/release.json art/stable-1/a.txt",
    ));

    // a good file against the wrong release
    w.run(&argv(
        "verify offline.toml --release rel/stable-1.json dl/a.txt",
    ))
    .expect_code(1);

    // below threshold: one signature of the two needed
    w.release(
        "stable",
        5,
        &[("a.txt", b"alpha two\n")],
        &["keys/rel2"],
        "+30d",
    );
    w.run(&argv(
        "verify offline.toml --release rel/stable-5.json dl/a.txt",
    ))
    .expect_code(1);
    // unsigned
    w.release("stable", 6, &[("a.txt", b"alpha two\n")], &[], "+30d");
    w.run(&argv(
        "verify offline.toml --release rel/stable-6.json dl/a.txt",
    ))
    .expect_code(1);
    // expired, though properly signed
    w.release(
        "stable",
        8,
        &[("a.txt", b"alpha two\n")],
        &["keys/rel1", "keys/rel2"],
        "-1d",
    );
    let out = w.run(&argv(
        "verify offline.toml --release rel/stable-8.json dl/a.txt",
    ));
    out.expect_code(1);
    assert!(out.stderr.contains("expired"), "{}", out.describe());
    // a release of another channel
    w.release(
        "beta",
        4,
        &[("a.txt", b"alpha two\n")],
        &["keys/rel1", "keys/rel2"],
        "+30d",
    );
    w.run(&argv(
        "verify offline.toml --release rel/beta-4.json dl/a.txt",
    ))
    .expect_code(1);
    w.ok(&argv(
        "verify offline.toml --channel beta --release rel/beta-4.json dl/a.txt",
    ));
    // a root envelope is not a release
    w.run(&argv("verify offline.toml --release root.json dl/a.txt"))
        .expect_code(1);
}

// ---------------------------------------------------------------------------------------
// Human report

#[test]
fn human_report_groups_by_country_and_summarises() {
    let w = World::standard();
    let old = w.abs("m/old");
    let out = w.run(&[
        "check",
        "profile.toml",
        "--no-state",
        "--mirror",
        &format!("{old}=AT"),
    ]);
    out.expect_code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    // country headers in order, each followed by its own mirrors only
    let header = |cc: &str| {
        lines
            .iter()
            .position(|l| l.trim() == cc)
            .unwrap_or_else(|| panic!("no {cc} header:\n{}", out.stdout))
    };
    let (at, de, fr) = (header("AT"), header("DE"), header("FR"));
    assert!(
        at < de && de < fr,
        "countries out of order:\n{}",
        out.stdout
    );
    let line_of = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle) && l.trim() != needle)
            .unwrap_or_else(|| panic!("no line for {needle}:\n{}", out.stdout))
    };
    let (o, d, f1, f2) = (
        line_of(&old),
        line_of("m/de1"),
        line_of("m/fr1"),
        line_of("m/fr2"),
    );
    assert!(at < o && o < de, "{}", out.stdout);
    assert!(de < d && d < fr, "{}", out.stdout);
    assert!(fr < f1 && fr < f2, "{}", out.stdout);
    assert!(lines[o].contains("stale"), "{}", lines[o]);
    assert!(lines[f1].contains("ok"), "{}", lines[f1]);

    let last = lines
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .expect("a summary line");
    assert!(
        last.contains("release 2 "),
        "summary names the latest version: {last}"
    );
    assert!(
        last.contains("2 of 3"),
        "summary names 2 of 3 pinned release keys: {last}"
    );
    assert!(!out.stdout.trim_start().starts_with('{'), "not JSON");

    // all-ok run: same summary facts
    let out = w.ok(&["check", "profile.toml", "--no-state"]);
    let last = out
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap();
    assert!(last.contains("release 2 "), "{last}");
    assert!(last.contains("2 of 3"), "{last}");
    assert!(last.contains("3 of 3 mirrors"), "{last}");
}

// ---------------------------------------------------------------------------------------
// Root rotation, published with the same commands

#[test]
fn rotated_root_found_on_mirrors_is_followed() {
    let w = World::with_root();
    // root v2 hands the release role to a new set of keys and a new root key
    for k in ["keys/root2", "keys/new1", "keys/new2"] {
        w.ok(&["keygen", "--out", k]);
    }
    w.ok(&argv(
        "root new --project demo --version 2 --expires +365d --root-key \
         keys/root2.pub --release-key keys/new1.pub --release-key keys/new2.pub \
         --release-threshold 2 --out root2.json",
    ));
    // signed by the old root key and by its own
    w.ok(&argv("sign --key keys/root.key root2.json"));
    w.ok(&argv("sign --key keys/root2.key root2.json"));
    w.release(
        "stable",
        1,
        &[("a.txt", b"rotated")],
        &["keys/new1", "keys/new2"],
        "+30d",
    );
    w.ok(&argv(
        "mirror build --out m/x --release rel/stable-1.json --artifacts \
         art/stable-1 --root root.json --root root2.json",
    ));
    assert!(w.path("m/x/root/2.json").is_file());
    w.profile("profile.toml", &[("m/x", "FR")]);
    let (out, v) = w.check_json(&["profile.toml", "--no-state"]);
    out.expect_code(0);
    assert_eq!(v["root"]["version"], 2, "{v:#}");
    let out = w.ok(&["check", "profile.toml", "--no-state"]);
    assert!(
        out.stdout.contains("2 of 2 pinned release keys"),
        "{}",
        out.stdout
    );

    // without the rotation on the mirror, the new keys mean nothing
    std::fs::remove_file(w.path("m/x/root/2.json")).unwrap();
    let (out, v) = w.check_json(&["profile.toml", "--no-state"]);
    out.expect_code(1);
    assert_eq!(v["mirrors"][0]["status"], "invalid");
}

// ---------------------------------------------------------------------------------------
// Hash choice, odd names, stuck mirrors

#[test]
fn sha512_only_release_is_checked_with_sha512() {
    let w = World::with_root();
    w.write("art/x/file.dat", b"sixty-four bits of nothing");
    std::fs::create_dir(w.path("rel")).unwrap();
    w.ok(&argv(
        "release new --project demo --channel stable --version 3 --expires +30d \
         --artifacts art --hash sha512 --out rel/r.json",
    ));
    let env = w.read_json("rel/r.json");
    let doc: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(env["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let a = &doc["artifacts"]["x/file.dat"];
    assert!(a.get("sha256").is_none(), "{a}");
    assert_eq!(a["sha512"].as_str().unwrap().len(), 128);
    w.ok(&argv("sign --key keys/rel2.key rel/r.json"));
    w.ok(&argv("sign --key keys/rel1.key rel/r.json"));
    w.ok(&argv(
        "mirror build --out m/a --release rel/r.json --artifacts art",
    ));
    w.profile("profile.toml", &[("m/a", "FR")]);
    w.ok(&["check", "profile.toml", "--no-state"]);
    w.ok(&argv(
        "verify profile.toml --release rel/r.json art/x/file.dat",
    ));

    w.write("m/a/artifacts/x/file.dat", b"sixty-four bits of NOTHING");
    let (out, v) = w.check_json(&["profile.toml", "--no-state"]);
    out.expect_code(1);
    assert_eq!(v["mirrors"][0]["status"], "corrupt");
    assert!(
        v["mirrors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("sha512"),
        "{v:#}"
    );

    w.run(&argv(
        "release new --project demo --channel stable --version 4 --expires +30d \
         --artifacts art --hash md5 --out rel/md5.json",
    ))
    .expect_usage_error();
    assert!(!w.path("rel/md5.json").exists());
}

/// FORMAT.md puts no limit on a project's name, and `root new` accepts "Example OS"; but
/// the state store refuses any name outside [A-Za-z0-9._-], so every `check` of such a
/// project with the default (stateful) settings exits 2.
#[test]
fn project_names_the_publisher_accepts_can_be_checked_with_state() {
    let w = World::empty();
    w.ok(&["keygen", "--out", "root"]);
    w.ok(&["keygen", "--out", "rel"]);
    w.ok(&[
        "root",
        "new",
        "--project",
        "Example OS",
        "--expires",
        "+30d",
        "--root-key",
        "root.pub",
        "--release-key",
        "rel.pub",
        "--out",
        "root.json",
    ]);
    w.ok(&argv("sign --key root.key root.json"));
    w.write("art/a.txt", b"a");
    w.ok(&[
        "release",
        "new",
        "--project",
        "Example OS",
        "--channel",
        "stable",
        "--version",
        "1",
        "--expires",
        "+30d",
        "--artifacts",
        "art",
        "--out",
        "rel.json",
    ]);
    w.ok(&argv("sign --key rel.key rel.json"));
    w.ok(&argv(
        "mirror build --out m --release rel.json --artifacts art",
    ));
    w.profile("profile.toml", &[("m", "FR")]);
    w.ok(&["check", "profile.toml", "--no-state"]);
    w.ok(&argv("check profile.toml --state state"));
    w.ok(&["check", "profile.toml"]);
}

/// A mirror directory whose release.json never yields a byte (a FIFO nobody writes, as a
/// stuck network filesystem behaves). `--timeout 1` correctly judges it unreachable after
/// one second, but the process then never exits: dropping the tokio runtime waits for the
/// blocked `spawn_blocking` read, contrary to the comment on `fetch::blocking`.
#[test]
fn a_stuck_local_mirror_does_not_hang_the_run() {
    let w = World::standard();
    w.mirror("stuck", "stable", 2);
    let fifo = w.path("m/stuck/stable/release.json");
    std::fs::remove_file(&fifo).unwrap();
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let stuck = w.abs("m/stuck");
    let out = w
        .run_with_watchdog(
            &[
                "check",
                "profile.toml",
                "--no-state",
                "--json",
                "--timeout",
                "1",
                "--mirror",
                &format!("{stuck}=FR"),
            ],
            Duration::from_secs(20),
        )
        .expect("check never finished: a stuck mirror hung the whole run");
    out.expect_code(1);
    let v = out.json();
    assert_report_shape(&v);
    // A FIFO is refused when opened, without waiting for a writer: the mirror answered
    // with something that is not a file, so it is invalid rather than timed out.
    assert_eq!(mirror_by_url(&v, &stuck)["status"], "invalid");
    assert_eq!(mirror_by_url(&v, "m/fr1")["status"], "ok");
}

/// Numbers and times from the command line never crash the binary.
#[test]
fn absurd_numbers_and_times_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mirrorproof"))
            .args(args)
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .output()
            .unwrap()
    };
    let keygen = run(&["keygen", "--out", "k"]);
    assert_eq!(keygen.status.code(), Some(0));
    for expires in [
        "+1é",
        "--9223372036854775808s",
        "+99999999999999999999d",
        "+d",
    ] {
        let out = run(&[
            "root",
            "new",
            "--project",
            "p",
            "--expires",
            expires,
            "--root-key",
            "k.pub",
            "--release-key",
            "k.pub",
            "--out",
            "r.json",
        ]);
        assert_eq!(out.status.code(), Some(2), "{expires}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{expires}: {err}");
    }
    std::fs::write(
        dir.path().join("p.toml"),
        "name = \"p\"\nroot = \"r.json\"\nchannel = \"stable\"\n",
    )
    .unwrap();
    let out = run(&["check", "p.toml", "--concurrency", "18446744073709551615"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
