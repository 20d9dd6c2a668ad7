//! Differential tests: `mirrorproof tuf-client` and python-tuf's `ngclient` (the reference TUF
//! client, pinned by `scripts/install-python-tuf.sh`) walk the same repositories step by step
//! and must reach the same answers: the exit status of every step, the trusted metadata
//! versions each leaves in its metadata directory, and the target bytes each downloaded.
//!
//! The repositories are made by a simulator of our own on python-tuf's Metadata API
//! (`tests/tuf/simulator.py`: real keys of every kind, real signatures), which one python
//! process runs for the whole suite; it writes each repository's directory and a real loopback
//! HTTP server (`common/http.rs`) serves it. The python client is `tests/tuf/ngclient_cli.py`,
//! with the same command line as `tuf-client`; the simulator runs it in-process (one python
//! start-up for the suite), and `standalone_python_cli_agrees_with_the_in_process_one` checks
//! that running it as a program gives the same answers.
//!
//! Every step states python-tuf's answer, and the test asserts it, so a change of the reference
//! shows up too. Where mirrorproof is deliberately stricter (or laxer), the step says so with
//! [`stricter`] or [`laxer`] and the reason; those are the differences the docs list.
//!
//! The python side needs `MIRRORPROOF_PYTHON` (the venv's python; `scripts/test.sh` sets it).
//! Without it the suite skips, loudly, except under `CI=true`, where it fails.

#[path = "common/http.rs"]
mod http;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use mirrorproof::text::shown;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const MP: &str = env!("CARGO_BIN_EXE_mirrorproof");
/// A client step that takes longer than this has hung: `tuf-client` must never hang.
const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// The python process
// ---------------------------------------------------------------------------------------

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("tuf")
}

/// The venv's python, or `None` (after a loud message) when the suite must skip.
fn python() -> Option<PathBuf> {
    static WARNED: OnceLock<()> = OnceLock::new();
    match std::env::var_os("MIRRORPROOF_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "MIRRORPROOF_PYTHON is not set under CI: the TUF differential suite cannot run \
                 (scripts/test.sh installs python-tuf and sets it)"
            );
            WARNED.get_or_init(|| {
                // Straight to the process's stderr: the test harness would capture eprintln!.
                let _ = std::io::stderr().write_all(
                    b"\n*** tuf_differential: SKIPPED, MIRRORPROOF_PYTHON is not set.\n\
                      *** Run scripts/test.sh, or: export MIRRORPROOF_PYTHON=$(scripts/install-python-tuf.sh | tail -n 1)\n\n",
                );
            });
            None
        }
    }
}

struct Sim {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Sim {
    fn start(python: &Path) -> Sim {
        let mut child = Command::new(python)
            .arg(tests_dir().join("simulator.py"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut sim = Sim {
            _child: child,
            stdin,
            stdout,
        };
        let versions = sim
            .call(&json!({"cmd": "ping"}))
            .unwrap_or_else(|e| panic!("the simulator does not answer: {e}"));
        assert_eq!(
            versions,
            json!({"tuf": "7.0.1", "securesystemslib": "1.6.0"}),
            "{} has other python-tuf versions than scripts/install-python-tuf.sh pins",
            python.display()
        );
        sim
    }

    fn call(&mut self, req: &Value) -> Result<Value, String> {
        let mut line = serde_json::to_vec(req).expect("request is JSON");
        line.push(b'\n');
        self.stdin
            .write_all(&line)
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("writing to the simulator: {e}"))?;
        let mut reply = String::new();
        match self.stdout.read_line(&mut reply) {
            Ok(0) => return Err("the simulator exited".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("reading from the simulator: {e}")),
        }
        let reply: Value =
            serde_json::from_str(&reply).map_err(|e| format!("simulator reply: {e}"))?;
        if reply["ok"] == json!(true) {
            Ok(reply["result"].clone())
        } else {
            Err(reply["error"].as_str().unwrap_or("?").to_owned())
        }
    }
}

/// The one simulator process of this test binary. Requests are serialized by the lock; the
/// mirrorproof runs of parallel tests are not.
fn sim() -> MutexGuard<'static, Sim> {
    static SIM: OnceLock<Mutex<Sim>> = OnceLock::new();
    SIM.get_or_init(|| {
        let python = python().expect("checked by Tuf::new");
        Mutex::new(Sim::start(&python))
    })
    .lock()
    .unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// Expected answers
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Ok,
    Fail,
}

impl Answer {
    fn of(code: Option<i32>) -> Option<Answer> {
        match code {
            Some(0) => Some(Answer::Ok),
            Some(1) => Some(Answer::Fail),
            _ => None,
        }
    }
}

/// What each client must answer at one step.
#[derive(Clone, Copy, Debug)]
struct Expect {
    python: Answer,
    mirrorproof: Answer,
    /// Whether both must leave the same trusted metadata and downloads (when they answer
    /// alike).
    same_files: bool,
    /// Why they differ, when they do.
    why: &'static str,
}

const OK: Expect = Expect {
    python: Answer::Ok,
    mirrorproof: Answer::Ok,
    same_files: true,
    why: "",
};
const FAIL: Expect = Expect {
    python: Answer::Fail,
    mirrorproof: Answer::Fail,
    same_files: true,
    why: "",
};

/// python-tuf accepts, mirrorproof refuses on purpose.
const fn stricter(why: &'static str) -> Expect {
    Expect {
        python: Answer::Ok,
        mirrorproof: Answer::Fail,
        same_files: false,
        why,
    }
}

/// python-tuf refuses, mirrorproof accepts on purpose.
const fn laxer(why: &'static str) -> Expect {
    Expect {
        python: Answer::Fail,
        mirrorproof: Answer::Ok,
        same_files: false,
        why,
    }
}

/// Both give this answer, but leave different trusted metadata on purpose.
const fn other_files(answer: Expect, why: &'static str) -> Expect {
    Expect {
        same_files: false,
        why,
        ..answer
    }
}

// ---------------------------------------------------------------------------------------
// A scenario: one simulated repository, one server, two clients
// ---------------------------------------------------------------------------------------

/// One client's directories.
struct Side {
    metadata: PathBuf,
    targets: PathBuf,
}

impl Side {
    fn new(base: &Path) -> Side {
        let s = Side {
            metadata: base.join("metadata"),
            targets: base.join("targets"),
        };
        std::fs::create_dir_all(&s.metadata).unwrap();
        std::fs::create_dir_all(&s.targets).unwrap();
        s
    }

    /// The trusted metadata left in the metadata directory: role name (file name without
    /// `.json`, percent-decoded) to `signed.version`; 0 for a file that is not metadata.
    /// Subdirectories (python-tuf's `root_history/`) are not trusted metadata by the
    /// harness's rule: only the non-versioned files count.
    fn trusted(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(&self.metadata).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            // Follows python-tuf's root.json symlink into root_history/.
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let version = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v["signed"]["version"].as_u64())
                .unwrap_or(0);
            out.insert(percent_decode(stem), version);
        }
        out
    }

    /// The bytes of every file under the target directory, sorted: the harness lets each
    /// client name its files as it likes.
    fn downloaded(&self) -> Vec<Vec<u8>> {
        fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(std::fs::read(&path).unwrap());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.targets, &mut out);
        out.sort();
        out
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(hex) = std::str::from_utf8(&b[i + 1..i + 3])
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What one client run said.
struct Ran {
    code: Option<i32>,
    output: String,
}

impl Ran {
    fn describe(&self) -> String {
        let lines: Vec<String> = self
            .output
            .lines()
            .map(|l| format!("    {}", shown(l)))
            .collect();
        format!("exit {:?}\n{}", self.code, lines.join("\n"))
    }
}

/// What both clients left behind after a step; see [`Step::versions`] and [`Step::got`].
struct Step {
    label: String,
    /// python-tuf's.
    trusted: BTreeMap<String, u64>,
    downloaded: Vec<Vec<u8>>,
    /// mirrorproof's, for steps where it differs on purpose.
    mp_trusted: BTreeMap<String, u64>,
}

impl Step {
    /// Asserts the trusted metadata (python-tuf's, which mirrorproof's equals unless the step
    /// was a deliberate difference): exactly these roles at these versions.
    #[track_caller]
    fn versions(&self, want: &[(&str, u64)]) -> &Self {
        let want: BTreeMap<String, u64> = want.iter().map(|(r, v)| (r.to_string(), *v)).collect();
        assert_eq!(
            self.trusted, want,
            "{}: python-tuf's trusted metadata",
            self.label
        );
        self
    }

    /// Asserts mirrorproof's trusted metadata, for the steps where it differs on purpose.
    #[track_caller]
    fn mirrorproof_versions(&self, want: &[(&str, u64)]) -> &Self {
        let want: BTreeMap<String, u64> = want.iter().map(|(r, v)| (r.to_string(), *v)).collect();
        assert_eq!(
            self.mp_trusted, want,
            "{}: mirrorproof's trusted metadata",
            self.label
        );
        self
    }

    /// Asserts the downloaded target bytes, in any order.
    #[track_caller]
    fn got(&self, want: &[&str]) -> &Self {
        let mut want: Vec<Vec<u8>> = want.iter().map(|s| s.as_bytes().to_vec()).collect();
        want.sort();
        assert_eq!(
            self.downloaded, want,
            "{}: python-tuf's downloaded targets",
            self.label
        );
        self
    }
}

/// Roles' standard versions in a map literal: `top(root, timestamp, snapshot, targets)`.
fn top(root: u64, timestamp: u64, snapshot: u64, targets: u64) -> Vec<(&'static str, u64)> {
    vec![
        ("root", root),
        ("timestamp", timestamp),
        ("snapshot", snapshot),
        ("targets", targets),
    ]
}

struct Tuf {
    /// The simulator's name for the repository (unique: it includes the temporary path).
    name: String,
    /// The scenario's name, for messages.
    short: String,
    /// What the scenario is trying at the moment, for messages.
    note: Mutex<String>,
    dir: tempfile::TempDir,
    server: http::Server,
    py: Side,
    mp: Side,
    steps: AtomicUsize,
}

impl Tuf {
    /// A new repository (`opts` are the simulator's `new` options: `consistent_snapshot`,
    /// `key_type`, `keys` per role, `meta_hashes`), v1 of every top-level role published.
    /// `None` when the suite is skipped.
    fn new(name: &str, opts: Value) -> Option<Tuf> {
        python()?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("tuf-{name}-"))
            .tempdir()
            .unwrap();
        let repo = dir.path().join("repo");
        let server = http::Server::serve_dir(&repo);
        let t = Tuf {
            name: format!("{name}-{}", dir.path().display()),
            short: name.to_owned(),
            note: Mutex::new(String::new()),
            py: Side::new(&dir.path().join("python")),
            mp: Side::new(&dir.path().join("mirrorproof")),
            server,
            dir,
            steps: AtomicUsize::new(0),
        };
        let mut req = opts;
        req["dir"] = json!(repo);
        t.sim("new", req);
        Some(t)
    }

    fn label(&self) -> String {
        let note = self.note.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let step = self.steps.load(Ordering::SeqCst);
        if note.is_empty() {
            format!("{} step {step}", self.short)
        } else {
            format!("{} step {step} ({note})", self.short)
        }
    }

    /// Names what the next steps try, in failure messages.
    fn trying(&self, what: &str) {
        *self.note.lock().unwrap_or_else(|e| e.into_inner()) = what.to_owned();
    }

    /// One simulator request on this repository.
    #[track_caller]
    fn sim(&self, cmd: &str, args: Value) -> Value {
        let mut req = if args.is_null() { json!({}) } else { args };
        req["cmd"] = json!(cmd);
        req["repo"] = json!(self.name);
        sim()
            .call(&req)
            .unwrap_or_else(|e| panic!("simulator {cmd}: {e}"))
    }

    // -- repository edits ---------------------------------------------------------------

    fn add_target(&self, path: &str, data: &str) {
        self.add_target_to("targets", path, data);
    }
    fn add_target_to(&self, role: &str, path: &str, data: &str) {
        self.sim(
            "add_target",
            json!({"role": role, "path": path, "data": data}),
        );
    }
    fn publish(&self, role: &str) -> u64 {
        self.sim("publish", json!({"role": role})).as_u64().unwrap()
    }
    /// Re-signs the draft as it stands without a new version number.
    fn publish_as_is(&self, role: &str) -> u64 {
        self.sim("publish", json!({"role": role, "bump": false}))
            .as_u64()
            .unwrap()
    }
    fn update_snapshot(&self) {
        self.sim("update_snapshot", Value::Null);
    }
    fn update_timestamp(&self) {
        self.sim("update_timestamp", Value::Null);
    }
    /// A new targets version, then snapshot and timestamp listing it.
    fn release(&self) {
        self.publish("targets");
        self.update_snapshot();
    }
    fn keyids(&self, role: &str) -> Vec<String> {
        serde_json::from_value(self.sim("keyids", json!({"role": role}))).unwrap()
    }
    /// A new key of this kind for `role` (listed by its delegator, and signing).
    fn add_key(&self, role: &str, kind: &str) -> String {
        self.sim("add_key", json!({"role": role, "key_type": kind}))
            .as_str()
            .unwrap()
            .to_owned()
    }
    fn remove_key(&self, role: &str, keyid: &str, keep_signing: bool) {
        self.sim(
            "remove_key",
            json!({"role": role, "keyid": keyid, "keep_signing": keep_signing}),
        );
    }
    /// Replaces every key of `role` by a new one of this kind (the old ones stop signing).
    fn rotate(&self, role: &str, kind: &str) -> String {
        let old = self.keyids(role);
        let new = self.add_key(role, kind);
        for k in old {
            self.remove_key(role, &k, false);
        }
        new
    }
    /// Root version N+1 with a new key of this kind in place of the old ones, signed by the
    /// old keys and the new one; later versions are signed by the new key alone.
    fn rotate_root(&self, kind: &str) -> String {
        let old = self.keyids("root");
        let new = self.add_key("root", kind);
        for k in &old {
            self.remove_key("root", k, true);
        }
        self.publish("root");
        self.signers("root", &[&new]);
        new
    }
    fn signers(&self, role: &str, keyids: &[&str]) {
        self.sim("signers", json!({"role": role, "keyids": keyids}));
    }
    fn stranger(&self, kind: &str) -> String {
        self.sim("stranger", json!({"key_type": kind}))
            .as_str()
            .unwrap()
            .to_owned()
    }
    fn threshold(&self, role: &str, n: u64) {
        self.sim("threshold", json!({"role": role, "n": n}));
    }
    fn expires_in_days(&self, role: &str, days: f64) {
        self.sim("expires", json!({"role": role, "days": days}));
    }
    fn expires_in_seconds(&self, role: &str, seconds: f64) {
        self.sim("expires", json!({"role": role, "seconds": seconds}));
    }
    fn set_version(&self, role: &str, version: u64) {
        self.sim("set_version", json!({"role": role, "version": version}));
    }
    /// Serves role's published `version` at metadata file `file`.
    fn serve(&self, file: &str, role: &str, version: u64) {
        self.sim(
            "serve",
            json!({"file": file, "role": role, "version": version}),
        );
    }
    fn unserve(&self, file: &str) {
        self.sim("unserve", json!({"file": file}));
    }
    fn meta(&self, role: &str, edit: Value) {
        let mut req = edit;
        req["role"] = json!(role);
        self.sim("meta", req);
    }
    fn delegate(&self, delegator: &str, role: &str, spec: Value) -> String {
        let mut req = spec;
        req["delegator"] = json!(delegator);
        req["role"] = json!(role);
        self.sim("delegate", req).as_str().unwrap().to_owned()
    }
    fn edit_signed_bytes(&self, role: &str, edit: &str) {
        self.sim("resign_edited", json!({"role": role, "edit": edit}));
    }

    /// The base URL of the repository's `metadata` or `targets` directory.
    fn url(&self, sub: &str) -> String {
        format!("{}{sub}/", self.server.url())
    }

    // -- client steps ---------------------------------------------------------------------

    /// Both clients trust the repository's `1.root.json`; both must accept it.
    fn init(&self) -> Step {
        let root = self.dir.path().join("repo/metadata/1.root.json");
        let copy = self.dir.path().join("initial-root.json");
        std::fs::copy(&root, &copy).unwrap();
        self.step(OK, |side| {
            vec![
                "--metadata-dir".into(),
                side.metadata.display().to_string(),
                "init".into(),
                copy.display().to_string(),
            ]
        })
    }

    /// Both clients try to trust `root` as their initial root.
    fn init_with(&self, root_file: &str, expect: Expect) -> Step {
        let root = self.dir.path().join("repo/metadata").join(root_file);
        let copy = self.dir.path().join("initial-root.json");
        std::fs::copy(&root, &copy).unwrap();
        self.step(expect, |side| {
            vec![
                "--metadata-dir".into(),
                side.metadata.display().to_string(),
                "init".into(),
                copy.display().to_string(),
            ]
        })
    }

    fn refresh(&self, expect: Expect) -> Step {
        let url = self.url("metadata");
        self.step(expect, |side| {
            vec![
                "--metadata-url".into(),
                url.clone(),
                "--metadata-dir".into(),
                side.metadata.display().to_string(),
                "refresh".into(),
            ]
        })
    }

    fn download(&self, names: &[&str], expect: Expect) -> Step {
        let url = self.url("metadata");
        let targets = self.url("targets");
        self.step(expect, |side| {
            let mut argv = vec![
                "--metadata-url".into(),
                url.clone(),
                "--metadata-dir".into(),
                side.metadata.display().to_string(),
            ];
            for n in names {
                argv.push("--target-name".into());
                argv.push((*n).into());
            }
            argv.extend([
                "--target-dir".into(),
                side.targets.display().to_string(),
                "--target-base-url".into(),
                targets.clone(),
                "download".into(),
            ]);
            argv
        })
    }

    /// Runs both clients with the same arguments (each with its own directories) and checks
    /// that each gave its expected answer, and, when the answers are meant to agree, that
    /// they left the same trusted metadata and the same downloaded bytes.
    #[track_caller]
    fn step(&self, expect: Expect, argv: impl Fn(&Side) -> Vec<String>) -> Step {
        self.steps.fetch_add(1, Ordering::SeqCst);
        let label = self.label();
        let py = run_python(&argv(&self.py));
        let py_answer = Answer::of(py.code);
        assert_eq!(
            py_answer,
            Some(expect.python),
            "{label}: python-tuf answered differently than this test expects\n  python-tuf: {}",
            py.describe()
        );
        let mp = run_mirrorproof(&argv(&self.mp));
        let mp_answer = Answer::of(mp.code);
        let step = Step {
            label: label.clone(),
            trusted: self.py.trusted(),
            downloaded: self.py.downloaded(),
            mp_trusted: self.mp.trusted(),
        };
        let both = format!(
            "\n  python-tuf: {}\n  mirrorproof: {}",
            py.describe(),
            mp.describe()
        );
        // `cargo test --test tuf_differential -- --nocapture` shows every step's answers.
        eprintln!("{label}:{both}");
        if expect.python == expect.mirrorproof {
            assert_eq!(
                mp_answer,
                Some(expect.mirrorproof),
                "{label}: mirrorproof and python-tuf disagree{both}"
            );
        } else {
            assert_eq!(
                mp_answer,
                Some(expect.mirrorproof),
                "{label}: mirrorproof no longer differs from python-tuf as documented ({}){both}",
                expect.why
            );
        }
        if expect.same_files {
            assert_eq!(
                step.mp_trusted, step.trusted,
                "{label}: the trusted metadata differs (left: mirrorproof, right: python-tuf){both}"
            );
            assert_eq!(
                self.mp.downloaded(),
                step.downloaded,
                "{label}: the downloaded targets differ (left: mirrorproof, right: python-tuf){both}"
            );
        } else {
            assert_ne!(
                (&step.mp_trusted, mp_answer),
                (&step.trusted, py_answer),
                "{label}: mirrorproof no longer differs from python-tuf as documented ({}){both}",
                expect.why
            );
        }
        step
    }
}

impl Drop for Tuf {
    fn drop(&mut self) {
        // The simulator forgets the repository; a poisoned or dead simulator is not this
        // test's failure to report.
        let mut guard = sim();
        let _ = guard.call(&json!({"cmd": "close", "repo": self.name}));
    }
}

fn run_python(argv: &[String]) -> Ran {
    let reply = sim()
        .call(&json!({"cmd": "client", "argv": argv}))
        .unwrap_or_else(|e| panic!("python client: {e}"));
    Ran {
        code: reply["code"].as_i64().map(|c| c as i32),
        output: reply["output"].as_str().unwrap_or("").to_owned(),
    }
}

fn run_mirrorproof(argv: &[String]) -> Ran {
    let mut args = vec!["tuf-client".to_owned()];
    args.extend(argv.iter().cloned());
    run_with_deadline(Command::new(MP).args(&args).env("RUST_BACKTRACE", "0"))
}

/// Runs a program, killing it (and failing the test) if it outlives [`DEADLINE`].
fn run_with_deadline(cmd: &mut Command) -> Ran {
    let out_file = tempfile::tempfile().unwrap();
    let err_file = out_file.try_clone().unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out_file.try_clone().unwrap())
        .stderr(err_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} hung for {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut out_file = out_file;
    use std::io::{Read, Seek};
    out_file.rewind().unwrap();
    let mut bytes = Vec::new();
    out_file.read_to_end(&mut bytes).unwrap();
    Ran {
        code: status.code(),
        output: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ---------------------------------------------------------------------------------------
// Plain use, consistent snapshots on and off
// ---------------------------------------------------------------------------------------

fn plain(name: &str, consistent: bool) {
    let Some(t) = Tuf::new(name, json!({"consistent_snapshot": consistent})) else {
        return;
    };
    t.add_target("file.txt", "hello");
    t.add_target("dir/sub/file.bin", "nested");
    t.release();
    t.init().versions(&[("root", 1)]);
    t.refresh(OK).versions(&top(1, 2, 2, 2));
    // Nothing new: the same trusted metadata.
    t.refresh(OK).versions(&top(1, 2, 2, 2));
    t.download(&["file.txt", "dir/sub/file.bin"], OK)
        .versions(&top(1, 2, 2, 2))
        .got(&["hello", "nested"]);
    t.download(&["missing.txt"], FAIL).got(&["hello", "nested"]);
    // A new release changes one target; downloading it again replaces the old bytes.
    t.add_target("file.txt", "hello again");
    t.release();
    t.download(&["file.txt"], OK)
        .versions(&top(1, 3, 3, 3))
        .got(&["hello again", "nested"]);
}

#[test]
fn plain_consistent_snapshots() {
    plain("plain-cs", true);
}

#[test]
fn plain_without_consistent_snapshots() {
    plain("plain-nocs", false);
}

#[test]
fn consistent_snapshots_switched_off_by_a_new_root() {
    let Some(t) = Tuf::new("cs-off", json!({"consistent_snapshot": true})) else {
        return;
    };
    t.add_target("file.txt", "one");
    t.release();
    t.init();
    t.download(&["file.txt"], OK).got(&["one"]);
    t.sim("consistent_snapshot", json!({"on": false}));
    t.publish("root");
    t.add_target("file.txt", "two");
    t.release();
    t.download(&["file.txt"], OK)
        .versions(&top(2, 3, 3, 3))
        .got(&["two"]);
}

#[test]
fn standalone_python_cli_agrees_with_the_in_process_one() {
    let Some(t) = Tuf::new("standalone", json!({})) else {
        return;
    };
    t.add_target("file.txt", "standalone");
    t.release();
    t.init();
    t.download(&["file.txt"], OK).got(&["standalone"]);
    t.download(&["missing.txt"], FAIL);

    // The same three commands through `python ngclient_cli.py` as a program.
    let python = python().unwrap();
    let own = Side::new(&t.dir.path().join("standalone"));
    let root = t.dir.path().join("initial-root.json");
    let cli = tests_dir().join("ngclient_cli.py");
    let run = |args: Vec<String>| run_with_deadline(Command::new(&python).arg(&cli).args(args));
    let meta = own.metadata.display().to_string();
    let init = run(vec![
        "--metadata-dir".into(),
        meta.clone(),
        "init".into(),
        root.display().to_string(),
    ]);
    assert_eq!(init.code, Some(0), "init: {}", init.describe());
    let download = |name: &str| {
        run(vec![
            "--metadata-url".into(),
            t.url("metadata"),
            "--metadata-dir".into(),
            meta.clone(),
            "--target-name".into(),
            name.into(),
            "--target-dir".into(),
            own.targets.display().to_string(),
            "--target-base-url".into(),
            t.url("targets"),
            "download".into(),
        ])
    };
    let ok = download("file.txt");
    assert_eq!(ok.code, Some(0), "download: {}", ok.describe());
    let missing = download("missing.txt");
    assert_eq!(
        missing.code,
        Some(1),
        "missing target: {}",
        missing.describe()
    );
    // A usage error is exit 1 too, as the harness asks (argparse alone would say 2).
    let usage = run(vec![
        "--metadata-dir".into(),
        meta.clone(),
        "frobnicate".into(),
    ]);
    assert_eq!(usage.code, Some(1), "usage error: {}", usage.describe());
    assert_eq!(own.trusted(), t.py.trusted());
    assert_eq!(own.downloaded(), t.py.downloaded());
}

// ---------------------------------------------------------------------------------------
// Root rotation
// ---------------------------------------------------------------------------------------

#[test]
fn root_rotation_1_2_3_with_a_threshold_change() {
    let Some(t) = Tuf::new("rot123", json!({})) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
    // v2: a new key replaces the old one; signed by both (old threshold and new threshold).
    t.rotate_root("ed25519");
    t.refresh(OK).versions(&top(2, 1, 1, 1));
    // v3: a second key and threshold 2; signed by both keys, which meets v2's threshold
    // (1 of k1) and v3's own (2 of k1, k2).
    let _k2 = t.add_key("root", "ed25519");
    t.threshold("root", 2);
    assert_eq!(t.publish("root"), 3);
    t.release();
    t.refresh(OK).versions(&top(3, 2, 2, 2));
}

#[test]
fn root_rotation_two_versions_in_one_refresh() {
    let Some(t) = Tuf::new("rot-two", json!({})) else {
        return;
    };
    t.init();
    t.rotate_root("ed25519");
    t.rotate("timestamp", "ed25519");
    t.publish("root");
    t.update_timestamp();
    t.refresh(OK).versions(&top(3, 2, 1, 1));
}

#[test]
fn root_rotation_signed_only_by_the_new_keys_is_refused() {
    let Some(t) = Tuf::new("rot-newonly", json!({})) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
    t.rotate("root", "ed25519");
    t.publish("root");
    t.update_timestamp();
    t.refresh(FAIL).versions(&top(1, 1, 1, 1));
}

#[test]
fn root_rotation_that_misses_its_own_new_threshold_is_refused() {
    let Some(t) = Tuf::new("rot-newthresh", json!({})) else {
        return;
    };
    t.init();
    let k0 = t.keyids("root")[0].clone();
    let _k1 = t.add_key("root", "ed25519");
    t.threshold("root", 2);
    t.signers("root", &[&k0]);
    t.publish("root");
    t.refresh(FAIL).versions(&[("root", 1)]);
}

/// More new roots than one refresh may take (python-tuf's and mirrorproof's bound: 256):
/// both stop at the bound and carry on with the root they reached.
#[test]
fn more_new_roots_than_the_rotation_bound() {
    let Some(t) = Tuf::new("rot-bound", json!({})) else {
        return;
    };
    t.init();
    for _ in 2..=258 {
        t.publish("root");
    }
    t.refresh(OK).versions(&top(257, 1, 1, 1));
    t.refresh(OK).versions(&top(258, 1, 1, 1));
}

#[test]
fn root_file_with_another_version_inside_is_refused() {
    let Some(t) = Tuf::new("rot-version", json!({})) else {
        return;
    };
    t.init();
    // 2.root.json holds a correctly signed root whose version is 3.
    t.set_version("root", 3);
    t.publish_as_is("root");
    t.serve("2.root.json", "root", 3);
    t.unserve("3.root.json");
    t.refresh(FAIL).versions(&[("root", 1)]);
}

// ---------------------------------------------------------------------------------------
// Expiry and freeze
// ---------------------------------------------------------------------------------------

#[test]
fn expired_final_root() {
    let Some(t) = Tuf::new("exp-root", json!({})) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
    t.expires_in_days("root", -1.0);
    t.publish("root");
    t.update_timestamp();
    // The new root is trusted (it is properly signed) but, final and expired, stops the
    // update before timestamp.
    t.refresh(FAIL).versions(&top(2, 1, 1, 1));
}

#[test]
fn expired_intermediate_root_is_fine() {
    let Some(t) = Tuf::new("exp-root-mid", json!({})) else {
        return;
    };
    t.init();
    t.expires_in_days("root", -1.0);
    t.publish("root");
    t.expires_in_days("root", 30.0);
    t.publish("root");
    t.refresh(OK).versions(&top(3, 1, 1, 1));
}

#[test]
fn expired_timestamp() {
    let Some(t) = Tuf::new("exp-ts", json!({})) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
    t.expires_in_days("timestamp", -1.0);
    t.update_timestamp();
    t.refresh(FAIL).versions(&top(1, 1, 1, 1));
}

#[test]
fn expired_snapshot() {
    let Some(t) = Tuf::new("exp-snap", json!({})) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
    t.expires_in_days("snapshot", -1.0);
    t.update_snapshot();
    t.refresh(FAIL).versions(&top(1, 2, 1, 1));
}

#[test]
fn expired_targets() {
    let Some(t) = Tuf::new("exp-targets", json!({})) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
    t.expires_in_days("targets", -1.0);
    t.release();
    t.refresh(FAIL).versions(&top(1, 2, 2, 1));
}

/// Freeze: the repository keeps serving what the client already trusts after it expired.
/// Expiry is real time for both clients, so this waits a few seconds (once, for both repos).
#[test]
fn freeze_of_timestamp_and_of_snapshot() {
    let Some(ts) = Tuf::new("freeze-ts", json!({})) else {
        return;
    };
    let Some(snap) = Tuf::new("freeze-snap", json!({})) else {
        return;
    };
    ts.init();
    snap.init();
    ts.expires_in_seconds("timestamp", 8.0);
    ts.update_timestamp();
    snap.expires_in_seconds("snapshot", 8.0);
    snap.update_snapshot();
    let expiry = Instant::now() + Duration::from_secs(8);
    ts.refresh(OK).versions(&top(1, 2, 1, 1));
    snap.refresh(OK).versions(&top(1, 2, 2, 1));
    std::thread::sleep(
        expiry.saturating_duration_since(Instant::now()) + Duration::from_millis(1500),
    );
    // Same timestamp served again, now expired.
    ts.refresh(FAIL).versions(&top(1, 2, 1, 1));
    // A fresh timestamp, still naming the snapshot that has now expired.
    snap.update_timestamp();
    snap.refresh(FAIL).versions(&top(1, 3, 2, 1));
}

// ---------------------------------------------------------------------------------------
// Rollback
// ---------------------------------------------------------------------------------------

#[test]
fn timestamp_rollback() {
    let Some(t) = Tuf::new("rb-ts", json!({})) else {
        return;
    };
    t.init();
    t.update_timestamp();
    t.refresh(OK).versions(&top(1, 2, 1, 1));
    t.serve("timestamp.json", "timestamp", 1);
    t.refresh(FAIL).versions(&top(1, 2, 1, 1));
}

#[test]
fn timestamp_of_the_same_version_with_other_content_is_ignored() {
    let Some(t) = Tuf::new("ts-equal", json!({})) else {
        return;
    };
    t.init();
    t.update_timestamp();
    t.refresh(OK).versions(&top(1, 2, 1, 1));
    let trusted = std::fs::read(t.py.metadata.join("timestamp.json")).unwrap();
    t.expires_in_days("timestamp", 20.0);
    t.publish_as_is("timestamp");
    t.refresh(OK).versions(&top(1, 2, 1, 1));
    // python-tuf keeps the timestamp it had.
    assert_eq!(
        std::fs::read(t.py.metadata.join("timestamp.json")).unwrap(),
        trusted
    );
}

fn snapshot_rollback(name: &str, hashes: bool) {
    let Some(t) = Tuf::new(name, json!({"meta_hashes": hashes})) else {
        return;
    };
    t.init();
    t.update_snapshot();
    t.refresh(OK).versions(&top(1, 2, 2, 1));
    // A new timestamp that names the older snapshot.
    t.meta("timestamp", json!({"of_version": 1}));
    t.publish("timestamp");
    t.refresh(FAIL).versions(&top(1, 2, 2, 1));
}

#[test]
fn snapshot_rollback_named_by_a_new_timestamp() {
    snapshot_rollback("rb-snap", false);
}

#[test]
fn snapshot_rollback_named_by_a_new_timestamp_with_hashes() {
    snapshot_rollback("rb-snap-h", true);
}

#[test]
fn snapshot_replayed_under_an_unchanged_timestamp() {
    let Some(t) = Tuf::new("rb-snap-replay", json!({"consistent_snapshot": false})) else {
        return;
    };
    t.init();
    t.update_snapshot();
    t.refresh(OK).versions(&top(1, 2, 2, 1));
    t.serve("snapshot.json", "snapshot", 1);
    // python-tuf's trusted snapshot still matches the timestamp, so it does not fetch again.
    t.refresh(OK).versions(&top(1, 2, 2, 1));
}

fn targets_rollback(name: &str, hashes: bool) {
    let Some(t) = Tuf::new(name, json!({"meta_hashes": hashes})) else {
        return;
    };
    t.init();
    t.release();
    t.refresh(OK).versions(&top(1, 2, 2, 2));
    // A new snapshot that names the older targets.
    t.meta(
        "snapshot",
        json!({"entry": "targets.json", "of_version": 1}),
    );
    t.publish("snapshot");
    t.update_timestamp();
    t.refresh(FAIL).versions(&top(1, 3, 2, 2));
}

#[test]
fn targets_rollback_named_by_a_new_snapshot() {
    targets_rollback("rb-targets", false);
}

#[test]
fn targets_rollback_named_by_a_new_snapshot_with_hashes() {
    targets_rollback("rb-targets-h", true);
}

// ---------------------------------------------------------------------------------------
// Mix and match
// ---------------------------------------------------------------------------------------

fn mix_snapshot(name: &str, consistent: bool, hashes: bool) {
    let Some(t) = Tuf::new(
        name,
        json!({"consistent_snapshot": consistent, "meta_hashes": hashes}),
    ) else {
        return;
    };
    t.init();
    t.update_snapshot();
    t.update_snapshot();
    // Timestamp v3 names snapshot v3; the file served there is snapshot v2.
    let file = if consistent {
        "3.snapshot.json"
    } else {
        "snapshot.json"
    };
    t.serve(file, "snapshot", 2);
    t.refresh(FAIL).versions(&[("root", 1), ("timestamp", 3)]);
}

#[test]
fn mix_and_match_snapshot_from_another_timestamp() {
    mix_snapshot("mix-snap", true, false);
}

#[test]
fn mix_and_match_snapshot_from_another_timestamp_with_hashes() {
    mix_snapshot("mix-snap-h", false, true);
}

#[test]
fn mix_and_match_targets_from_another_snapshot() {
    let Some(t) = Tuf::new("mix-targets", json!({"consistent_snapshot": false})) else {
        return;
    };
    t.add_target("file.txt", "v2");
    t.release();
    t.add_target("file.txt", "v3");
    t.release();
    t.serve("targets.json", "targets", 2);
    t.init();
    t.download(&["file.txt"], FAIL)
        .versions(&[("root", 1), ("timestamp", 3), ("snapshot", 3)])
        .got(&[]);
}

// ---------------------------------------------------------------------------------------
// Hashes and lengths
// ---------------------------------------------------------------------------------------

#[test]
fn bad_snapshot_hash_in_timestamp() {
    let Some(t) = Tuf::new("bad-snap-hash", json!({"meta_hashes": true})) else {
        return;
    };
    t.init();
    t.update_snapshot();
    t.meta("timestamp", json!({"bad_hash": true}));
    t.publish("timestamp");
    t.refresh(FAIL).versions(&[("root", 1), ("timestamp", 3)]);
}

#[test]
fn bad_snapshot_length_in_timestamp() {
    let Some(t) = Tuf::new("bad-snap-len", json!({"meta_hashes": true})) else {
        return;
    };
    t.init();
    t.update_snapshot();
    let snap_len = std::fs::metadata(t.dir.path().join("repo/metadata/2.snapshot.json"))
        .unwrap()
        .len();
    // Shorter than the file.
    t.meta("timestamp", json!({"length": snap_len - 1}));
    t.publish("timestamp");
    t.refresh(FAIL).versions(&[("root", 1), ("timestamp", 3)]);
    // Longer than the file.
    t.meta("timestamp", json!({"length": snap_len + 1}));
    t.publish("timestamp");
    t.refresh(FAIL).versions(&[("root", 1), ("timestamp", 4)]);
    // Right again.
    t.meta("timestamp", json!({"of_version": 2}));
    t.publish("timestamp");
    t.refresh(OK).versions(&top(1, 5, 2, 1));
}

#[test]
fn bad_targets_hash_and_length_in_snapshot() {
    let Some(t) = Tuf::new("bad-targets-meta", json!({"meta_hashes": true})) else {
        return;
    };
    t.init();
    t.release();
    t.meta(
        "snapshot",
        json!({"entry": "targets.json", "bad_hash": true}),
    );
    t.publish("snapshot");
    t.update_timestamp();
    t.refresh(FAIL)
        .versions(&[("root", 1), ("timestamp", 3), ("snapshot", 3)]);
    let len = std::fs::metadata(t.dir.path().join("repo/metadata/2.targets.json"))
        .unwrap()
        .len();
    t.meta(
        "snapshot",
        json!({"entry": "targets.json", "of_version": 2}),
    );
    t.meta(
        "snapshot",
        json!({"entry": "targets.json", "length": len - 1}),
    );
    t.publish("snapshot");
    t.update_timestamp();
    t.refresh(FAIL)
        .versions(&[("root", 1), ("timestamp", 4), ("snapshot", 4)]);
    t.meta(
        "snapshot",
        json!({"entry": "targets.json", "of_version": 2}),
    );
    t.publish("snapshot");
    t.update_timestamp();
    t.refresh(OK).versions(&top(1, 5, 5, 2));
}

#[test]
fn bad_target_file() {
    let Some(t) = Tuf::new("bad-target", json!({})) else {
        return;
    };
    t.add_target("file.txt", "the genuine target bytes");
    t.release();
    t.init();
    for mode in ["flip", "extend", "truncate"] {
        t.sim("tamper_target", json!({"path": "file.txt", "mode": mode}));
        t.download(&["file.txt"], FAIL)
            .versions(&top(1, 2, 2, 2))
            .got(&[]);
        // Back to the genuine bytes.
        t.add_target("file.txt", "the genuine target bytes");
    }
    t.download(&["file.txt"], OK)
        .got(&["the genuine target bytes"]);
}

#[test]
fn target_hash_algorithms() {
    let Some(t) = Tuf::new("hash-algos", json!({})) else {
        return;
    };
    for (path, algos) in [
        ("both.txt", json!(["sha256", "sha512"])),
        ("sha512.txt", json!(["sha512"])),
    ] {
        t.sim(
            "add_target",
            json!({"path": path, "data": path, "hash_algorithms": algos}),
        );
    }
    t.release();
    t.init();
    t.download(&["both.txt", "sha512.txt"], OK)
        .got(&["both.txt", "sha512.txt"]);
}

/// One of three targets is missing: python-tuf downloads in order and stops at the first
/// failure, keeping what it had verified before it.
#[test]
fn download_of_several_targets_when_one_is_missing() {
    let Some(t) = Tuf::new("partial", json!({})) else {
        return;
    };
    t.add_target("a.txt", "a");
    t.add_target("c.txt", "c");
    t.release();
    t.init();
    t.download(&["a.txt", "missing.txt", "c.txt"], FAIL)
        .got(&["a"]);
}

#[test]
fn target_listed_with_a_wrong_length_or_hash() {
    let Some(t) = Tuf::new("bad-target-meta", json!({})) else {
        return;
    };
    t.add_target("long.txt", "twelve bytes");
    t.sim("target_meta", json!({"path": "long.txt", "length": 13}));
    t.add_target("short.txt", "twelve bytes");
    t.sim("target_meta", json!({"path": "short.txt", "length": 11}));
    t.add_target("hash.txt", "twelve bytes");
    t.sim("target_meta", json!({"path": "hash.txt", "bad_hash": true}));
    t.release();
    t.init();
    for name in ["long.txt", "short.txt", "hash.txt"] {
        t.download(&[name], FAIL).got(&[]);
    }
}

// ---------------------------------------------------------------------------------------
// Fast-forward recovery
// ---------------------------------------------------------------------------------------

#[test]
fn timestamp_fast_forward_recovery() {
    let Some(t) = Tuf::new("ff-ts", json!({})) else {
        return;
    };
    t.init();
    t.set_version("timestamp", 100);
    t.publish_as_is("timestamp");
    t.refresh(OK).versions(&top(1, 100, 1, 1));
    // Without a key rotation, going back to version 1 is a rollback.
    t.set_version("timestamp", 1);
    t.publish_as_is("timestamp");
    t.refresh(FAIL).versions(&top(1, 100, 1, 1));
    // The timestamp key is rotated: the client can no longer verify its trusted timestamp,
    // so version 1 under the new key is acceptable.
    t.rotate("timestamp", "ed25519");
    t.publish("root");
    t.publish_as_is("timestamp");
    t.refresh(OK).versions(&top(2, 1, 1, 1));
}

#[test]
fn snapshot_fast_forward_recovery() {
    let Some(t) = Tuf::new("ff-snap", json!({})) else {
        return;
    };
    t.init();
    t.set_version("snapshot", 99999);
    t.publish_as_is("snapshot");
    t.update_timestamp();
    t.refresh(OK).versions(&top(1, 2, 99999, 1));
    // Snapshot and timestamp keys rotated, snapshot version back to 1.
    t.rotate("snapshot", "ed25519");
    t.rotate("timestamp", "ed25519");
    t.publish("root");
    t.set_version("snapshot", 1);
    t.publish_as_is("snapshot");
    t.update_timestamp();
    t.refresh(OK).versions(&top(2, 3, 1, 1));
}

#[test]
fn snapshot_version_reset_with_only_the_snapshot_key_rotated() {
    let Some(t) = Tuf::new("ff-snap-only", json!({})) else {
        return;
    };
    t.init();
    t.set_version("snapshot", 50);
    t.publish_as_is("snapshot");
    t.update_timestamp();
    t.refresh(OK).versions(&top(1, 2, 50, 1));
    t.rotate("snapshot", "ed25519");
    t.publish("root");
    t.set_version("snapshot", 1);
    t.publish_as_is("snapshot");
    t.update_timestamp();
    // python-tuf still trusts the timestamp (its key did not change), whose snapshot version
    // 50 the new timestamp's 1 would roll back. The spec (5.3.11) says to delete the trusted
    // timestamp and snapshot when the timestamp and/or snapshot keys rotate, which is what
    // mirrorproof does; then nothing is rolled back.
    t.refresh(laxer(
        "spec 5.3.11: a snapshot key rotation alone resets the timestamp and snapshot floors",
    ))
    .versions(&top(2, 2, 50, 1))
    .mirrorproof_versions(&top(2, 3, 1, 1));
}

/// The timestamp key rotates, but the repository still serves a timestamp signed by the old
/// key: both refuse it. mirrorproof has already dropped its stored timestamp and snapshot
/// (5.3.11: they are no floor after the rotation), python-tuf keeps them on disk.
#[test]
fn timestamp_key_rotated_but_the_timestamp_still_signed_by_the_old_key() {
    let Some(t) = Tuf::new("ff-ts-oldkey", json!({})) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
    let old = t.keyids("timestamp")[0].clone();
    t.rotate("timestamp", "ed25519");
    t.publish("root");
    t.signers("timestamp", &[&old]);
    t.update_timestamp();
    t.refresh(other_files(
        FAIL,
        "spec 5.3.11: the stored timestamp and snapshot are deleted after the key rotation",
    ))
    .versions(&top(2, 1, 1, 1))
    .mirrorproof_versions(&[("root", 2), ("targets", 1)]);
}

#[test]
fn targets_fast_forward_recovery() {
    let Some(t) = Tuf::new("ff-targets", json!({})) else {
        return;
    };
    t.init();
    t.set_version("targets", 100);
    t.publish_as_is("targets");
    t.update_snapshot();
    t.refresh(OK).versions(&top(1, 2, 2, 100));
    t.rotate("snapshot", "ed25519");
    t.publish("root");
    t.set_version("targets", 1);
    t.publish_as_is("targets");
    t.update_snapshot();
    t.refresh(OK).versions(&top(2, 3, 3, 1));
}

// ---------------------------------------------------------------------------------------
// Delegations
// ---------------------------------------------------------------------------------------

#[test]
fn delegations_are_searched_in_order() {
    let Some(t) = Tuf::new("deleg-order", json!({})) else {
        return;
    };
    t.delegate("targets", "a", json!({"paths": ["*.txt"]}));
    t.delegate("targets", "b", json!({"paths": ["*.txt"]}));
    t.add_target_to("a", "file.txt", "from a");
    t.add_target_to("b", "file.txt", "from b");
    t.add_target_to("b", "only-b.txt", "only in b");
    t.publish("a");
    t.publish("b");
    t.release();
    t.init();
    t.download(&["file.txt"], OK)
        .versions(&[
            ("root", 1),
            ("timestamp", 2),
            ("snapshot", 2),
            ("targets", 2),
            ("a", 1),
        ])
        .got(&["from a"]);
    t.download(&["only-b.txt"], OK)
        .versions(&[
            ("root", 1),
            ("timestamp", 2),
            ("snapshot", 2),
            ("targets", 2),
            ("a", 1),
            ("b", 1),
        ])
        .got(&["from a", "only in b"]);
    t.download(&["other.bin"], FAIL);
}

#[test]
fn nested_delegations_are_searched_depth_first() {
    let Some(t) = Tuf::new("deleg-nested", json!({})) else {
        return;
    };
    t.delegate("targets", "a", json!({"paths": ["*"]}));
    t.delegate("targets", "b", json!({"paths": ["*"]}));
    t.delegate("a", "c", json!({"paths": ["*"]}));
    t.add_target_to("c", "file.txt", "from c");
    t.add_target_to("b", "file.txt", "from b");
    for role in ["a", "b", "c"] {
        t.publish(role);
    }
    t.release();
    t.init();
    t.download(&["file.txt"], OK).got(&["from c"]);
}

fn terminating(name: &str, terminating: bool, expect: Expect) {
    let Some(t) = Tuf::new(name, json!({})) else {
        return;
    };
    t.delegate(
        "targets",
        "a",
        json!({"paths": ["dir/*"], "terminating": terminating}),
    );
    t.delegate("targets", "b", json!({"paths": ["dir/*"]}));
    t.add_target_to("b", "dir/file.txt", "from b");
    t.publish("a");
    t.publish("b");
    t.release();
    t.init();
    t.download(&["dir/file.txt"], expect);
}

#[test]
fn terminating_delegation_stops_the_search() {
    terminating("deleg-term", true, FAIL);
}

#[test]
fn non_terminating_delegation_lets_the_search_go_on() {
    terminating("deleg-nonterm", false, OK);
}

#[test]
fn delegation_path_patterns() {
    let Some(t) = Tuf::new("deleg-paths", json!({})) else {
        return;
    };
    t.delegate("targets", "star", json!({"paths": ["*.txt"]}));
    t.delegate("targets", "sub", json!({"paths": ["sub/*.txt"]}));
    t.delegate("targets", "chars", json!({"paths": ["f?le-[0-9].bin"]}));
    // `*` does not cross `/`: "star" is not asked for sub/deep.txt even though it lists it.
    t.add_target_to("star", "top.txt", "top");
    t.add_target_to("star", "sub/deep.txt", "deep, wrongly in star");
    t.add_target_to("sub", "sub/file.txt", "sub");
    t.add_target_to("chars", "file-7.bin", "chars");
    t.add_target_to("chars", "file-x.bin", "not matched");
    for role in ["star", "sub", "chars"] {
        t.publish(role);
    }
    t.release();
    t.init();
    t.download(&["top.txt"], OK).got(&["top"]);
    t.download(&["sub/file.txt"], OK).got(&["sub", "top"]);
    t.download(&["file-7.bin"], OK)
        .got(&["chars", "sub", "top"]);
    t.download(&["sub/deep.txt"], FAIL);
    t.download(&["file-x.bin"], FAIL);
}

#[test]
fn delegation_path_hash_prefixes() {
    let Some(t) = Tuf::new("deleg-hash", json!({})) else {
        return;
    };
    let h = sha256_hex(b"file.txt");
    let other = if h.starts_with('0') { "f" } else { "0" };
    t.delegate(
        "targets",
        "right",
        json!({"path_hash_prefixes": [&h[..2], &h[..4]]}),
    );
    t.delegate("targets", "wrong", json!({"path_hash_prefixes": [other]}));
    t.add_target_to("right", "file.txt", "right bin");
    t.add_target_to("wrong", "misplaced.txt", "wrong bin");
    t.publish("right");
    t.publish("wrong");
    t.release();
    t.init();
    t.download(&["file.txt"], OK).got(&["right bin"]);
    // misplaced.txt's hash starts with neither of "wrong"'s prefixes unless by chance.
    let m = sha256_hex(b"misplaced.txt");
    assert!(!m.starts_with(other), "pick another name for the test");
    t.download(&["misplaced.txt"], FAIL);
}

#[test]
fn succinct_hash_bin_delegations() {
    let Some(t) = Tuf::new("succinct", json!({})) else {
        return;
    };
    t.sim(
        "succinct",
        json!({"delegator": "targets", "bit_length": 3, "name_prefix": "bin"}),
    );
    let bin_for = |path: &str| -> String {
        let bin = t.sim("bin_for", json!({"path": path}));
        bin.as_str().unwrap().to_owned()
    };
    let bin = bin_for("file.txt");
    t.add_target_to(&bin, "file.txt", "in its bin");
    t.publish(&bin);
    // Listed in a bin that does not own the path: never found there.
    let own = bin_for("misplaced.txt");
    let wrong = (0..8)
        .map(|i| format!("bin-{i}"))
        .find(|b| *b != own && *b != bin)
        .unwrap();
    t.add_target_to(&wrong, "misplaced.txt", "wrong bin");
    t.publish(&wrong);
    t.release();
    t.init();
    let step = t.download(&["file.txt"], OK);
    step.got(&["in its bin"]);
    assert_eq!(step.trusted.get(&bin), Some(&2), "{:?}", step.trusted);
    t.download(&["misplaced.txt"], FAIL);
}

#[test]
fn expired_or_badly_signed_delegated_metadata() {
    let Some(t) = Tuf::new("deleg-bad", json!({})) else {
        return;
    };
    t.delegate("targets", "expired", json!({"paths": ["e/*"]}));
    t.delegate("targets", "forged", json!({"paths": ["f/*"]}));
    t.delegate("targets", "two", json!({"paths": ["t/*"], "threshold": 2}));
    t.add_key("two", "ed25519");
    t.add_target_to("expired", "e/file.txt", "expired");
    t.add_target_to("forged", "f/file.txt", "forged");
    t.add_target_to("two", "t/file.txt", "two of two");
    t.expires_in_days("expired", -1.0);
    let stranger = t.stranger("ed25519");
    t.signers("forged", &[&stranger]);
    for role in ["expired", "forged", "two"] {
        t.publish(role);
    }
    t.release();
    t.init();
    t.download(&["e/file.txt"], FAIL).got(&[]);
    t.download(&["f/file.txt"], FAIL).got(&[]);
    t.download(&["t/file.txt"], OK).got(&["two of two"]);
    // Delegated, but never published: the snapshot does not list it.
    t.delegate("targets", "ghost", json!({"paths": ["g/*"]}));
    t.release();
    t.download(&["g/file.txt"], FAIL);
}

#[test]
fn snapshot_that_drops_a_role() {
    let Some(t) = Tuf::new("snap-drop", json!({})) else {
        return;
    };
    t.delegate("targets", "a", json!({"paths": ["*"]}));
    t.add_target_to("a", "file.txt", "from a");
    t.publish("a");
    t.release();
    t.init();
    t.download(&["file.txt"], OK).versions(&[
        ("root", 1),
        ("timestamp", 2),
        ("snapshot", 2),
        ("targets", 2),
        ("a", 1),
    ]);
    t.sim(
        "publish_raw",
        json!({"role": "snapshot", "set": [[["meta", "a.json"], null]]}),
    );
    t.update_timestamp();
    t.refresh(FAIL).versions(&[
        ("root", 1),
        ("timestamp", 3),
        ("snapshot", 2),
        ("targets", 2),
        ("a", 1),
    ]);
}

/// python-tuf visits at most 32 delegated roles (plus top-level targets) per lookup.
#[test]
fn long_delegation_chain() {
    let Some(t) = Tuf::new("deleg-chain", json!({})) else {
        return;
    };
    let mut parent = "targets".to_owned();
    for i in 1..=34 {
        let role = format!("d{i}");
        t.delegate(&parent, &role, json!({"paths": ["*"]}));
        t.add_target_to(&role, &format!("at-{i}.txt"), &format!("depth {i}"));
        parent = role;
    }
    for i in 1..=34 {
        t.publish(&format!("d{i}"));
    }
    t.release();
    t.init();
    t.download(&["at-32.txt"], OK).got(&["depth 32"]);
    t.download(&["at-33.txt"], FAIL);
}

#[test]
fn delegated_role_name_that_needs_quoting() {
    let Some(t) = Tuf::new("deleg-quote", json!({"consistent_snapshot": false})) else {
        return;
    };
    t.delegate("targets", "my role", json!({"paths": ["*"]}));
    t.add_target_to("my role", "file.txt", "quoted");
    t.publish("my role");
    t.release();
    t.init();
    t.download(&["file.txt"], OK).got(&["quoted"]).versions(&[
        ("root", 1),
        ("timestamp", 2),
        ("snapshot", 2),
        ("targets", 2),
        ("my role", 1),
    ]);
}

/// Role names that need quoting in URLs and file names, the tuf-conformance suite's list:
/// both must fetch them, keep them, and write nothing outside their metadata directory.
#[test]
fn unusual_delegated_role_names() {
    for (i, role) in ["?", "#", "/delegatedrole", "../delegatedrole"]
        .into_iter()
        .enumerate()
    {
        let Some(t) = Tuf::new(&format!("role-name-{i}"), json!({})) else {
            return;
        };
        t.trying(role);
        t.delegate("targets", role, json!({"paths": ["*"]}));
        t.add_target_to(role, "file.txt", role);
        t.publish(role);
        t.release();
        t.init();
        t.download(&["file.txt"], OK).got(&[role]).versions(&[
            ("root", 1),
            ("timestamp", 2),
            ("snapshot", 2),
            ("targets", 2),
            (role, 1),
        ]);
        for side in ["python", "mirrorproof"] {
            let mut names: Vec<String> = std::fs::read_dir(t.dir.path().join(side))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(
                names,
                ["metadata", "targets"],
                "{side} wrote outside its dirs"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Keys and signatures
// ---------------------------------------------------------------------------------------

/// Every top-level role (and a delegated one) with keys of one kind.
fn one_kind(name: &str, kind: &str) {
    let Some(t) = Tuf::new(name, json!({"key_type": kind})) else {
        return;
    };
    t.delegate(
        "targets",
        "deleg",
        json!({"paths": ["d/*"], "key_type": kind}),
    );
    t.add_target_to("deleg", "d/file.txt", kind);
    t.publish("deleg");
    t.release();
    t.init();
    t.download(&["d/file.txt"], OK).got(&[kind]);
    // A signature that does not verify.
    t.update_timestamp();
    t.edit_signed_bytes("timestamp", "flip_signature");
    t.refresh(FAIL).versions(&[
        ("root", 1),
        ("timestamp", 2),
        ("snapshot", 2),
        ("targets", 2),
        ("deleg", 1),
    ]);
}

#[test]
fn ed25519_keys_for_every_role() {
    one_kind("kind-ed25519", "ed25519");
}

#[test]
fn ecdsa_p256_keys_for_every_role() {
    one_kind("kind-ecdsa", "ecdsa");
}

#[test]
fn rsa_pss_keys_for_every_role() {
    one_kind("kind-rsa", "rsa");
}

#[test]
fn ecdsa_keys_with_the_legacy_keytype_name() {
    one_kind("kind-ecdsa-legacy", "ecdsa-legacy");
}

#[test]
fn mixed_key_types() {
    let Some(t) = Tuf::new(
        "kind-mixed",
        json!({"keys": {"root": "rsa", "timestamp": "ecdsa", "snapshot": "ed25519", "targets": "ecdsa-legacy"}}),
    ) else {
        return;
    };
    t.add_target("file.txt", "mixed");
    t.release();
    t.init();
    t.download(&["file.txt"], OK).got(&["mixed"]);
    // Root moves from an RSA key to an ECDSA one.
    t.rotate_root("ecdsa");
    t.update_timestamp();
    t.refresh(OK).versions(&top(2, 3, 2, 2));
}

/// ECDSA signatures with a high S, and with a low S: both are valid ECDSA (and OpenSSL
/// accepts both); securesystemslib's own signatures are one or the other at random.
#[test]
fn ecdsa_signatures_with_high_and_low_s() {
    let Some(t) = Tuf::new(
        "kind-ecdsa-s",
        json!({"keys": {"timestamp": "ecdsa-high-s", "snapshot": "ecdsa-low-s"}}),
    ) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
}

/// RSA-PSS with the longest salt the key allows rather than 32 bytes: the scheme name does
/// not fix the salt length, and securesystemslib verifies whatever length was used.
#[test]
fn rsa_pss_with_the_longest_salt() {
    let Some(t) = Tuf::new(
        "kind-rsa-salt",
        json!({"keys": {"timestamp": "rsa-pss-max-salt"}}),
    ) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
}

/// ECDSA keys written as hex (SEC1 points) under keytype `ecdsa-sha2-nistp256`, as in older
/// Sigstore roots: securesystemslib only reads PEM, so python-tuf cannot verify them.
#[test]
fn ecdsa_hex_key() {
    let Some(t) = Tuf::new(
        "kind-ecdsa-hex",
        json!({"keys": {"timestamp": "ecdsa-hex"}}),
    ) else {
        return;
    };
    t.init();
    t.refresh(laxer(
        "mirrorproof reads hex ECDSA keys: Sigstore's roots use them",
    ))
    .versions(&[("root", 1)]);
}

/// RSA with PKCS#1 v1.5 padding: securesystemslib supports it; the TUF spec names only
/// `rsassa-pss-sha256` for RSA, and so does mirrorproof.
#[test]
fn rsa_pkcs1v15_key() {
    let Some(t) = Tuf::new(
        "kind-rsa-pkcs1",
        json!({"keys": {"timestamp": "rsa-pkcs1v15"}}),
    ) else {
        return;
    };
    t.init();
    // securesystemslib's rsa-pkcs1v15-sha256, which the conformance suite's repositories
    // sign with by default: both clients accept it.
    t.refresh(OK).versions(&top(1, 1, 1, 1));
}

#[test]
fn signature_by_a_key_nobody_trusts() {
    let Some(t) = Tuf::new("sig-stranger", json!({})) else {
        return;
    };
    t.init();
    let stranger = t.stranger("ed25519");
    t.signers("timestamp", &[&stranger]);
    t.update_timestamp();
    t.refresh(FAIL).versions(&[("root", 1)]);
}

/// Threshold 2 met only by counting one key twice: the same signature listed twice.
#[test]
fn threshold_two_with_the_same_signature_twice() {
    let Some(t) = Tuf::new("dup-sig", json!({})) else {
        return;
    };
    t.threshold("timestamp", 2);
    t.publish("root");
    t.init_with("2.root.json", OK);
    t.update_timestamp();
    t.edit_signed_bytes("timestamp", "duplicate_signature");
    t.refresh(FAIL).versions(&[("root", 2)]);
}

/// Threshold 2 met only by counting one key twice: the same key listed under two key ids.
#[test]
fn threshold_two_with_the_same_key_under_two_ids() {
    let Some(t) = Tuf::new("alias-key", json!({})) else {
        return;
    };
    let k = t.keyids("timestamp")[0].clone();
    t.sim("alias_key", json!({"role": "timestamp", "keyid": k}));
    t.threshold("timestamp", 2);
    t.publish("root");
    t.update_timestamp();
    t.init();
    t.refresh(stricter(
        "a threshold counts distinct keys, not key ids (metadata::Unverified::verify)",
    ))
    .versions(&top(2, 2, 1, 1))
    .mirrorproof_versions(&[("root", 2)]);
}

/// Timestamps that are properly signed but whose content is not valid metadata.
#[test]
fn malformed_but_signed_timestamps() {
    let Some(t) = Tuf::new("malformed", json!({})) else {
        return;
    };
    t.init();
    t.trying("the unedited document through the raw path");
    t.sim("publish_raw", json!({"role": "timestamp", "set": []}));
    t.refresh(OK).versions(&top(1, 2, 1, 1));
    let cases = [
        (
            "fractional seconds in expires",
            json!([[["expires"], "2099-01-01T00:00:00.5Z"]]),
        ),
        (
            "a UTC offset in expires",
            json!([[["expires"], "2099-01-01T00:00:00+00:00"]]),
        ),
        ("version 0", json!([[["version"], 0]])),
        ("a version that is a string", json!([[["version"], "9"]])),
        ("spec_version 2.0.0", json!([[["spec_version"], "2.0.0"]])),
        ("no snapshot.json in meta", json!([[["meta"], {}]])),
        ("the wrong _type", json!([[["_type"], "snapshot"]])),
        ("no expires", json!([[["expires"], null]])),
        // The spec: timestamp's meta "MUST only include a description of the snapshot.json
        // file". (python-tuf refuses it because it drops the extra entry when it parses, so
        // the signature no longer matches.)
        (
            "a second entry in meta",
            json!([[["meta", "targets.json"], {"version": 1}]]),
        ),
    ];
    for (what, edits) in cases {
        t.trying(what);
        t.sim("publish_raw", json!({"role": "timestamp", "set": edits}));
        t.refresh(FAIL).versions(&top(1, 2, 1, 1));
    }
}

#[test]
fn root_with_a_zero_threshold() {
    let Some(t) = Tuf::new("root-zero", json!({})) else {
        return;
    };
    t.init();
    t.sim(
        "publish_raw",
        json!({"role": "root", "set": [[["roles", "timestamp", "threshold"], 0]]}),
    );
    t.refresh(FAIL).versions(&[("root", 1)]);
}

/// A JSON member repeated inside the signed part: a parser that keeps the last one (as
/// python's does) sees the document that was signed.
#[test]
fn repeated_json_member_in_signed_metadata() {
    let Some(t) = Tuf::new("dup-member", json!({})) else {
        return;
    };
    t.init();
    t.update_timestamp();
    t.edit_signed_bytes("timestamp", "duplicate_version_key");
    t.refresh(stricter(
        "JSON with a repeated member is refused: which one counts is parser-dependent",
    ))
    .versions(&top(1, 2, 1, 1))
    .mirrorproof_versions(&[("root", 1)]);
}

#[test]
fn initial_root_not_signed_by_its_own_keys() {
    let Some(t) = Tuf::new("init-forged", json!({})) else {
        return;
    };
    let stranger = t.stranger("ed25519");
    t.signers("root", &[&stranger]);
    t.publish_as_is("root");
    t.init_with("1.root.json", FAIL);
}

/// The client's own stored timestamp is damaged: python-tuf ignores what it cannot load and
/// fetches a new one.
#[test]
fn damaged_local_timestamp() {
    let Some(t) = Tuf::new("local-damage", json!({})) else {
        return;
    };
    t.init();
    t.refresh(OK).versions(&top(1, 1, 1, 1));
    for side in [&t.py, &t.mp] {
        std::fs::write(side.metadata.join("timestamp.json"), b"{ not json").unwrap();
    }
    t.update_timestamp();
    t.refresh(OK).versions(&top(1, 2, 1, 1));
}

/// Refresh with no trusted root at all (no init).
#[test]
fn refresh_without_init() {
    let Some(t) = Tuf::new("no-init", json!({})) else {
        return;
    };
    t.refresh(FAIL).versions(&[]);
}

#[test]
fn missing_timestamp() {
    let Some(t) = Tuf::new("no-ts", json!({})) else {
        return;
    };
    t.init();
    t.unserve("timestamp.json");
    t.refresh(FAIL).versions(&[("root", 1)]);
}

// ---------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------

/// python-tuf's limits: root 512000 bytes, timestamp 16384, snapshot 2000000 (when the
/// timestamp gives no length), targets 5000000 (when the snapshot gives none). Each role is
/// tried exactly at its limit and one byte over.
#[test]
fn oversize_metadata() {
    let Some(t) = Tuf::new("oversize", json!({})) else {
        return;
    };
    t.init();
    let sized = |role: &str, size: u64| {
        t.sim("publish", json!({"role": role, "size": size}));
    };
    let unpad = |role: &str| {
        t.sim("pad", json!({"role": role, "bytes": 0}));
    };
    t.sim("update_timestamp", json!({"size": 16_384}));
    t.refresh(OK).versions(&top(1, 2, 1, 1));
    t.sim("update_timestamp", json!({"size": 16_385}));
    t.refresh(FAIL).versions(&top(1, 2, 1, 1));
    unpad("timestamp");

    sized("snapshot", 2_000_000);
    t.update_timestamp();
    t.refresh(OK).versions(&top(1, 4, 2, 1));
    sized("snapshot", 2_000_001);
    t.update_timestamp();
    t.refresh(FAIL).versions(&top(1, 5, 2, 1));
    unpad("snapshot");

    sized("targets", 5_000_000);
    t.update_snapshot();
    t.refresh(OK).versions(&top(1, 6, 4, 2));
    sized("targets", 5_000_001);
    t.update_snapshot();
    t.refresh(FAIL).versions(&top(1, 7, 5, 2));
    unpad("targets");
    t.release();
    t.refresh(OK).versions(&top(1, 8, 6, 4));

    sized("root", 512_000);
    t.refresh(OK).versions(&top(2, 8, 6, 4));
    sized("root", 512_001);
    t.refresh(FAIL).versions(&top(2, 8, 6, 4));
}
