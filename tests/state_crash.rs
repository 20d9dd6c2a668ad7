//! Crash safety of the rollback state: a writer killed at any instant (SIGKILL, so no
//! destructor or signal handler runs) never leaves a damaged, mixed or older state behind,
//! and two writers running at once never damage it either.
//!
//! The writer is `examples/state_writer.rs`: it records version n with
//! `payload_sha256 = sha256(n as decimal text)` through `StateStore`, in a loop. After
//! every kill this test loads the state with `StateStore::load` and checks it is readable,
//! self-consistent (hash matches version) and not older than anything seen before.
//!
//! The delays are random; the seed is printed, and `STATE_CRASH_SEED=N` replays a run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mirrorproof::state::{ChannelState, StateStore};
use sha2::{Digest, Sha256};

const PROJECT: &str = "exampleos";
const CHANNEL: &str = "stable";

/// Builds the example (a no-op when it is fresh) and returns its path. Always asking cargo,
/// rather than taking whatever sits in target/, means the writer is never a stale build
/// against an older `StateStore`.
fn writer_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "--example",
            "state_writer",
            "--message-format=json",
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ]);
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let out = cmd
            .output()
            .expect("run cargo build --example state_writer");
        assert!(
            out.status.success(),
            "cargo build --example state_writer failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exe = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"]["name"] == "state_writer")
            .find_map(|v| v["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported the state_writer executable");
        assert!(exe.is_file(), "{}", exe.display());
        exe
    })
}

fn spawn_writer(dir: &Path, mode: &str, count: Option<u64>) -> Child {
    let mut cmd = Command::new(writer_exe());
    cmd.arg(dir).arg(mode);
    if let Some(c) = count {
        cmd.arg(c.to_string());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start state_writer")
}

fn hash_of(n: u64) -> String {
    hex::encode(Sha256::digest(n.to_string().as_bytes()))
}

/// Loads the state and checks it is consistent; returns its version (0 when absent).
#[track_caller]
fn load_consistent(store: &StateStore, context: &str) -> u64 {
    match store.load(PROJECT, CHANNEL) {
        Ok(None) => 0,
        Ok(Some(ChannelState {
            version,
            payload_sha256,
            ..
        })) => {
            assert_eq!(
                payload_sha256,
                hash_of(version),
                "{context}: the state holds version {version} with another version's hash (a mix)"
            );
            version
        }
        Err(e) => {
            let raw = store
                .path(PROJECT, CHANNEL)
                .ok()
                .and_then(|p| std::fs::read(p).ok())
                .unwrap_or_default();
            panic!(
                "{context}: the state is damaged: {e}\n--- bytes\n{}",
                String::from_utf8_lossy(&raw)
            )
        }
    }
}

/// The atomic writer's temporaries (`.stable.json.RANDOM.tmp`) next to the state file.
fn temp_files(store: &StateStore) -> Vec<String> {
    let path = store.path(PROJECT, CHANNEL).unwrap();
    let Ok(entries) = std::fs::read_dir(path.parent().unwrap()) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{CHANNEL}.json.")) && n.ends_with(".tmp"))
        .collect()
}

/// xorshift64*, seeded from the clock unless STATE_CRASH_SEED is set.
struct Rng(u64);

impl Rng {
    fn new(test: &str) -> Rng {
        let seed = std::env::var("STATE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
            | 1;
        eprintln!("{test}: STATE_CRASH_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Kills `child` with SIGKILL; panics if it had already ended on its own (an error exit
/// means the writer itself hit a damaged state or a failed write).
fn kill(mut child: Child, context: &str) {
    if let Some(status) = child.try_wait().unwrap() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        panic!("{context}: the writer ended by itself ({status}): {err}");
    }
    child.kill().expect("SIGKILL the writer");
    child.wait().unwrap();
}

/// Many writers, each SIGKILLed after a random delay; the state after each must be
/// loadable, consistent, and never older than before.
fn kill_loop(mode: &str, iterations: u32) {
    let test = format!("kill_loop({mode})");
    let mut rng = Rng::new(&test);
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    let mut last = 0;
    let mut kills_leaving_a_temp = 0;
    let mut max_temps = 0;
    let started = Instant::now();
    for i in 0..iterations {
        let context = format!("{test}, kill {i}");
        let child = spawn_writer(dir.path(), mode, None);
        // Mostly within the first few writes, where a kill lands on every step of a save
        // (directory creation, lock, temporary, fsync, rename); sometimes much later.
        let delay_us = match rng.below(10) {
            0 => rng.below(300),
            1..=7 => 300 + rng.below(6_000),
            _ => 6_000 + rng.below(25_000),
        };
        std::thread::sleep(Duration::from_micros(delay_us));
        kill(child, &context);

        let v = load_consistent(&store, &context);
        assert!(
            v >= last,
            "{context}: the state went back from {last} to {v}"
        );
        last = v;
        let temps = temp_files(&store);
        if !temps.is_empty() {
            kills_leaving_a_temp += 1;
        }
        max_temps = max_temps.max(temps.len());
        // A kill mid-write leaves at most its own temporary: the next save clears stale
        // ones under the lock, so they never pile up.
        assert!(
            temps.len() <= 1,
            "{context}: temporary files accumulate: {temps:?}"
        );
    }
    assert!(
        last > 0,
        "{test}: no writer ever recorded a version; the delays are too short to test anything"
    );

    // A writer that runs to completion leaves a clean directory and moves forward.
    let status = spawn_writer(dir.path(), mode, Some(3)).wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(load_consistent(&store, &test), last + 3);
    assert_eq!(
        temp_files(&store),
        Vec::<String>::new(),
        "stale temporaries"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.iter().all(|n| n == PROJECT || n == ".lock"),
        "unexpected files in the state directory: {names:?}"
    );
    eprintln!(
        "{test}: {iterations} kills in {:?}; final version {last}; {kills_leaving_a_temp} kills \
         left a temporary file (max {max_temps} at once), cleared by the next save",
        started.elapsed()
    );
}

#[test]
fn sigkill_during_save_never_damages_or_rolls_back_the_state() {
    kill_loop("save", 200);
}

#[test]
fn sigkill_during_advance_never_damages_or_rolls_back_the_state() {
    kill_loop("advance", 100);
}

/// Two writer processes on the same state directory at once, with this process reading
/// all along: every read is a whole state of one version.
fn two_writers(mode: &str, count: u64) -> u64 {
    let test = format!("two_writers({mode})");
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path());
    let mut a = spawn_writer(dir.path(), mode, Some(count));
    let mut b = spawn_writer(dir.path(), mode, Some(count));
    // Each writer starts above what it found, so one started late counts from higher up.
    let (start_a, start_b) = (start_of(&mut a), start_of(&mut b));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = 0;
    let mut reads = 0u64;
    let mut backwards = 0u64;
    let (mut sa, mut sb) = (None, None);
    while sa.is_none() || sb.is_none() {
        if Instant::now() > deadline {
            let _ = a.kill();
            let _ = b.kill();
            panic!("{test}: the writers did not finish within 20 s (a lock never released?)");
        }
        let v = load_consistent(&store, &test);
        reads += 1;
        if v < last {
            backwards += 1;
        }
        last = last.max(v);
        if sa.is_none() {
            sa = a.try_wait().unwrap();
        }
        if sb.is_none() {
            sb = b.try_wait().unwrap();
        }
    }
    for (name, status, child) in [("a", sa, &mut a), ("b", sb, &mut b)] {
        let status = status.unwrap();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        assert!(status.success(), "{test}: writer {name}: {status}: {err}");
    }
    let v = load_consistent(&store, &test);
    let (end_a, end_b) = (start_a + count, start_b + count);
    assert_eq!(temp_files(&store), Vec::<String>::new(), "{test}");
    eprintln!("{test}: {reads} consistent reads, final version {v}, {backwards} backward steps");
    if mode == "advance" {
        // Under the lock, with a re-read, the recorded version never goes back and ends at
        // the highest either writer reached.
        assert_eq!(backwards, 0, "{test}: a reader saw the version go back");
        assert_eq!(v, end_a.max(end_b), "{test}: starts {start_a}, {start_b}");
    } else {
        // Unconditional saves: the last one wins, whichever writer made it.
        assert!(
            v == end_a || v == end_b,
            "{test}: final version {v}, writers ended at {end_a} and {end_b}"
        );
    }
    v
}

/// Reads the writer's `start N` line.
fn start_of(child: &mut Child) -> u64 {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim()
        .strip_prefix("start ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the writer said {line:?}, not \"start N\""))
}

#[test]
fn two_concurrent_writers_never_damage_the_state() {
    two_writers("save", 300);
}

#[test]
fn two_concurrent_advancing_writers_never_go_backwards() {
    two_writers("advance", 300);
}
