//! Bad local input, driven through the real binary: profiles, pinned roots and rollback
//! state that are damaged, odd or unwritable.
//!
//! The rule every case here checks: a bad local file gets exit 2 and exactly one line on
//! stderr starting with "mirrorproof:", never a panic (exit 101) or a crash, and never a
//! partial state write. A damaged state file in particular is never silently reset: the
//! old bytes stay, and nothing new is written next to them. A state directory that can be
//! read but not written (read-only, full, no `$HOME`) does not lose the run: the report is
//! printed first (rollbacks still caught from the recorded state), then the one-line error
//! with the way out (`--state DIR` or `--no-state`), exit 2.
//!
//! The worlds (keys, pinned root, a mirror serving a signed release) come from the library's
//! publisher API through `tests/common`. Roots that no honest publisher could make are
//! hand-signed: the payload JSON is edited, then signed with the world's root key, so that
//! the only thing wrong with each document is the defect under test.
//!
//! The disk-full and read-only cases mount a tmpfs (tests run as root, here and in CI); if
//! `mount` is refused the test fails saying so, rather than passing without testing.
//! `scripts/test.sh` run by another user skips them and says so (`MIRRORPROOF_TEST_NO_ROOT`).

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{CHANNEL, PROJECT, World};
use mirrorproof::envelope::{Envelope, RELEASE_TYPE, ROOT_TYPE};
use mirrorproof::state::ChannelState;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");
/// The version every mirror serves.
const V: u64 = 2026112200;

// ---------------------------------------------------------------------------------------
// Running the binary

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Whether this is exit 2 with one "mirrorproof: ..." line and no panic; `Err` says why
    /// not (table-driven tests collect these and report every failing case at once).
    fn check_usage_error(&self) -> Result<&str, String> {
        if self.stderr.contains("panicked") || self.code == Some(101) {
            return Err(format!("the binary panicked:\n{}", self.describe()));
        }
        if self.code != Some(2) {
            return Err(format!("expected exit 2:\n{}", self.describe()));
        }
        let lines: Vec<&str> = self.stderr.lines().collect();
        if lines.len() != 1 {
            return Err(format!(
                "stderr must be exactly one line:\n{}",
                self.describe()
            ));
        }
        let line = lines[0];
        if !line.starts_with("mirrorproof: ") || line.len() <= "mirrorproof: ".len() {
            return Err(format!(
                "stderr must start with \"mirrorproof:\" and say why:\n{}",
                self.describe()
            ));
        }
        if !self.stdout.is_empty() {
            return Err(format!(
                "a usage error prints no report:\n{}",
                self.describe()
            ));
        }
        Ok(line)
    }

    /// Exit 2, one line, no panic; returns the line.
    #[track_caller]
    fn usage_error(&self) -> &str {
        self.check_usage_error().unwrap_or_else(|e| panic!("{e}"))
    }

    /// A run whose verdicts are sound but whose state could not be recorded: the whole
    /// report on stdout first, then exit 2 with one line that says why and how to go on
    /// (`--state DIR` or `--no-state`).
    #[track_caller]
    fn report_then_state_error(&self) -> &str {
        assert_eq!(self.code, Some(2), "expected exit 2:\n{}", self.describe());
        assert!(
            self.stdout.contains("serve the same release")
                || self.stdout.contains("serves the same release"),
            "the report must be printed before the error:\n{}",
            self.describe()
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr:\n{}", self.describe());
        let line = lines[0];
        for needle in [
            "mirrorproof: ",
            "cannot write state",
            "--state DIR",
            "--no-state",
        ] {
            assert!(
                line.contains(needle),
                "{needle:?} missing:\n{}",
                self.describe()
            );
        }
        line
    }

    /// Exit 2 with one line that mentions `needle` (case-insensitive).
    #[track_caller]
    fn usage_error_mentioning(&self, needle: &str) -> &str {
        let line = self.usage_error();
        assert!(
            line.to_lowercase().contains(&needle.to_lowercase()),
            "the message should mention {needle:?}:\n{}",
            self.describe()
        );
        line
    }

    #[track_caller]
    fn expect_code(&self, code: i32) -> &Self {
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked:\n{}",
            self.describe()
        );
        assert_eq!(self.code, Some(code), "{}", self.describe());
        self
    }
}

/// A world with a pinned root and one mirror serving a good release, plus a way to run the
/// binary with HOME pointed inside it.
struct Env {
    w: World,
}

impl Env {
    fn new() -> Env {
        let mut w = World::new();
        // The binary judges at wall-clock time.
        w.now = mirrorproof::time::now();
        let rel = w
            .release(V)
            .signed_by(&[0, 1])
            .artifact("exampleos.img", 300)
            .build();
        w.mirror("fr", "FR").serves(&rel);
        let env = Env { w };
        let text = env.profile_text(&env.w.pinned_path().display().to_string());
        env.write("profile.toml", text.as_bytes());
        env
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.w.path().join(rel)
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// A profile naming `root` (absolute, or relative to the profile) and the mirror.
    fn profile_text(&self, root: &str) -> String {
        format!(
            "name = \"exampleos\"\nroot = {}\nchannel = \"stable\"\n\n[[mirrors]]\nurl = {}\ncountry = \"FR\"\n",
            toml_str(root),
            toml_str(&self.w.url_of("fr")),
        )
    }

    /// Writes `root.json`-like bytes and a profile pinning them; returns the profile path.
    fn pin_bytes(&self, name: &str, root: &[u8]) -> PathBuf {
        let root_path = self.write(&format!("roots/{name}.json"), root);
        let text = self.profile_text(&root_path.display().to_string());
        self.write(&format!("roots/{name}.toml"), text.as_bytes())
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.w.path())
            .env("HOME", self.home())
            .env_remove("XDG_DATA_HOME")
            .env("RUST_BACKTRACE", "0");
        for v in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "NO_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "no_proxy",
        ] {
            cmd.env_remove(v);
        }
        cmd
    }

    fn run_cmd(mut cmd: Command) -> Out {
        let out = cmd.output().expect("run mirrorproof");
        Out {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        Env::run_cmd(self.command(args))
    }

    /// `check PROFILE --state DIR --artifacts none`.
    fn check_with_state(&self, profile: &Path, state: &Path) -> Out {
        self.run(&[
            OsStr::new("check"),
            profile.as_os_str(),
            OsStr::new("--state"),
            state.as_os_str(),
            OsStr::new("--artifacts"),
            OsStr::new("none"),
        ])
    }

    fn check_no_state(&self, profile: &Path) -> Out {
        self.run(&[
            OsStr::new("check"),
            profile.as_os_str(),
            OsStr::new("--no-state"),
            OsStr::new("--artifacts"),
            OsStr::new("none"),
        ])
    }

    /// The payload of the pinned root v1 as JSON, to edit.
    fn root_doc(&self) -> Value {
        let env = Envelope::parse(&std::fs::read(self.w.pinned_path()).unwrap(), 1 << 20).unwrap();
        serde_json::from_slice(&env.payload_bytes().unwrap()).unwrap()
    }

    /// An envelope of `payload_type` over `payload`, signed by the pinned root key.
    fn signed(&self, payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let mut env = Envelope::unsigned(payload_type, payload);
        env.sign(&self.w.root_keys[0]).unwrap();
        env.to_json_bytes()
    }

    fn signed_root(&self, doc: &Value) -> Vec<u8> {
        self.signed(ROOT_TYPE, &serde_json::to_vec_pretty(doc).unwrap())
    }

    fn root_key_id(&self) -> String {
        self.w.root_keys[0].public().id().to_string()
    }
}

/// A TOML basic string for an ASCII path.
fn toml_str(s: &str) -> String {
    assert!(s.is_ascii() && !s.contains(['"', '\\', '\n']), "{s:?}");
    format!("\"{s}\"")
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn state_bytes(version: u64, payload_sha256: &str) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(&ChannelState {
        version,
        payload_sha256: payload_sha256.into(),
        updated: "2026-11-01T00:00:00Z".into(),
    })
    .unwrap();
    b.push(b'\n');
    b
}

/// Everything below `dir`: files with their bytes, directories, symlinks with their target.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, p: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            return;
        };
        let rel = p.strip_prefix(base).unwrap().to_path_buf();
        if meta.file_type().is_symlink() {
            out.insert(rel, format!("-> {:?}", std::fs::read_link(p).unwrap()));
        } else if meta.is_dir() {
            out.insert(rel, "dir".into());
            for e in std::fs::read_dir(p).unwrap() {
                walk(base, &e.unwrap().path(), out);
            }
        } else {
            out.insert(rel, format!("{:?}", std::fs::read(p).unwrap()));
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// Names of atomic-write temporaries (`.NAME.RANDOM.tmp`) anywhere below `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_keys()
        .filter(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned());
            n.is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"))
        })
        .collect()
}

/// Asserts `after` is `before` plus, at most, the state store's (empty) lock file.
#[track_caller]
fn assert_unchanged_but_lock(
    before: &BTreeMap<PathBuf, String>,
    after: &BTreeMap<PathBuf, String>,
) {
    let mut after = after.clone();
    if !before.contains_key(Path::new(".lock")) {
        after.remove(Path::new(".lock"));
    }
    assert_eq!(
        before, &after,
        "the state directory changed after a failed run"
    );
}

// ---------------------------------------------------------------------------------------
// Mounts (tests run as root)

/// The tests that mount need root (CAP_SYS_ADMIN). `scripts/test.sh` sets
/// `MIRRORPROOF_TEST_NO_ROOT=1` when it runs as another user, after saying which tests it
/// skips and why; without that variable a refused mount fails the test, so a run as root
/// (CI) can never pass them without testing anything.
fn skipped_without_root(test: &str) -> bool {
    let skip = std::env::var_os("MIRRORPROOF_TEST_NO_ROOT").is_some_and(|v| v == "1");
    if skip {
        eprintln!("skipped {test}: it mounts a tmpfs, which needs root");
    }
    skip
}

/// A mount that is undone when dropped (even when the test fails).
struct Mount {
    at: PathBuf,
}

fn run_mount(args: &[&OsStr]) -> Result<(), String> {
    let out = Command::new("mount")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mount {:?} failed ({}): {}",
            args,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Mount {
    /// A tmpfs of `size` bytes at `at` (created if needed).
    fn tmpfs(at: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(at).unwrap();
        let opts = format!("size={size},mode=0755");
        run_mount(&[
            OsStr::new("-t"),
            OsStr::new("tmpfs"),
            OsStr::new("-o"),
            OsStr::new(&opts),
            OsStr::new("tmpfs"),
            at.as_os_str(),
        ])
        .unwrap_or_else(|e| {
            panic!(
                "cannot mount a tmpfs for the disk-full/read-only tests: {e}. These tests need \
                 root (CAP_SYS_ADMIN), as in CI; they must not pass without testing anything"
            )
        });
        Mount { at: at.to_owned() }
    }

    /// `src` bind-mounted at `at`, read-only.
    fn bind_ro(src: &Path, at: &Path) -> Mount {
        std::fs::create_dir_all(at).unwrap();
        run_mount(&[OsStr::new("--bind"), src.as_os_str(), at.as_os_str()])
            .unwrap_or_else(|e| panic!("cannot bind-mount (tests need root): {e}"));
        let m = Mount { at: at.to_owned() };
        run_mount(&[
            OsStr::new("-o"),
            OsStr::new("remount,bind,ro"),
            at.as_os_str(),
        ])
        .unwrap_or_else(|e| panic!("cannot make the bind mount read-only: {e}"));
        m
    }

    fn remount_ro(&self) {
        run_mount(&[
            OsStr::new("-o"),
            OsStr::new("remount,ro"),
            self.at.as_os_str(),
        ])
        .unwrap_or_else(|e| panic!("cannot remount read-only: {e}"));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.at).status();
        }
    }
}

/// Fills the filesystem holding `dir` until not one more byte fits.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    while f.write(&[0u8]).is_ok_and(|n| n == 1) {}
    drop(f);
    // A new file with one byte needs a fresh page: it must not fit.
    assert!(
        std::fs::write(dir.join("probe"), b"x").is_err(),
        "{} is not full",
        dir.display()
    );
    let _ = std::fs::remove_file(dir.join("probe"));
}

// ---------------------------------------------------------------------------------------
// Profiles

#[test]
fn the_good_world_passes() {
    // The control for everything below: the same world with nothing broken is exit 0.
    let e = Env::new();
    e.check_no_state(&e.path("profile.toml")).expect_code(0);
}

#[test]
fn empty_profile_is_a_usage_error() {
    let e = Env::new();
    let p = e.write("empty.toml", b"");
    e.check_no_state(&p).usage_error_mentioning("empty.toml");
    let p = e.write("blank.toml", b"\n\n   \n# only a comment\n");
    e.check_no_state(&p).usage_error();
}

#[test]
fn garbage_profiles_are_usage_errors() {
    let e = Env::new();
    let all_bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let good = e.profile_text(&e.w.pinned_path().display().to_string());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("nul", vec![0u8; 1000]),
        ("all-bytes", all_bytes),
        ("bad-utf8-in-string", {
            let mut b = good.clone().into_bytes();
            b.extend_from_slice(b"\n# \xc3\x28 \xed\xa0\x80\n");
            b
        }),
        ("bom", {
            // Accepted or refused, but never a panic or a multi-line error.
            let mut b = b"\xef\xbb\xbf".to_vec();
            b.extend_from_slice(good.as_bytes());
            b
        }),
        ("nested-arrays", {
            let mut b = b"x = ".to_vec();
            b.extend(std::iter::repeat_n(b'[', 200_000));
            b
        }),
        ("nested-inline-tables", {
            let mut b = b"x = ".to_vec();
            b.extend(std::iter::repeat_n(b"{a=".as_slice(), 100_000).flatten());
            b
        }),
        ("dotted-keys", {
            let mut b = b"x".to_vec();
            b.extend(std::iter::repeat_n(b".a".as_slice(), 200_000).flatten());
            b.extend_from_slice(b" = 1\n");
            b
        }),
        (
            "wrong-types",
            b"name = 1\nroot = []\nchannel = {}\nmirrors = \"no\"\n".to_vec(),
        ),
        ("mirrors-not-a-table-array", {
            let mut b = good.lines().take(3).collect::<Vec<_>>().join("\n");
            b.push_str("\nmirrors = [1, 2]\n");
            b.into_bytes()
        }),
        (
            "duplicate-key",
            format!("name = \"a\"\n{good}").into_bytes(),
        ),
    ];
    let mut failures = Vec::new();
    for (name, bytes) in cases {
        let p = e.write(&format!("garbage/{name}.toml"), &bytes);
        let out = e.check_no_state(&p);
        if name == "bom" && out.code == Some(0) {
            continue;
        }
        if let Err(why) = out.check_usage_error() {
            failures.push(format!("[{name}] {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn huge_profile_is_refused_and_the_limit_is_exact() {
    let e = Env::new();
    let body = e.profile_text(&e.w.pinned_path().display().to_string());
    let limit = mirrorproof::profile::MAX_PROFILE_BYTES as usize;
    // Valid-looking TOML: the real profile, then comment lines up to `len` bytes.
    let padded = |len: usize| {
        let mut b = body.clone().into_bytes();
        let line = b"# padding padding padding padding padding padding padding padding\n";
        while b.len() + line.len() <= len {
            b.extend_from_slice(line);
        }
        b.extend(std::iter::repeat_n(b'#', len - b.len()));
        assert_eq!(b.len(), len);
        b
    };
    let p = e.write("huge.toml", &padded(2 * 1024 * 1024));
    e.check_no_state(&p).usage_error_mentioning("huge.toml");
    let p = e.write("over.toml", &padded(limit + 1));
    e.check_no_state(&p).usage_error_mentioning("limit");
    // At exactly the limit it is still a profile.
    let p = e.write("at-limit.toml", &padded(limit));
    e.check_no_state(&p).expect_code(0);
}

#[test]
fn profile_that_is_a_directory_or_special_file() {
    let e = Env::new();
    let d = e.path("dir.toml");
    std::fs::create_dir(&d).unwrap();
    e.check_no_state(&d).usage_error_mentioning("dir.toml");
    // verify takes the same path
    e.run(&[
        OsStr::new("verify"),
        d.as_os_str(),
        OsStr::new("--no-state"),
        OsStr::new("x"),
    ])
    .usage_error();
    // /dev/null reads as an empty file
    e.check_no_state(Path::new("/dev/null")).usage_error();
    // a path through a regular file
    let through = e.path("profile.toml/inner.toml");
    e.check_no_state(&through).usage_error();
    // a dangling symlink
    let link = e.path("dangling.toml");
    std::os::unix::fs::symlink(e.path("nowhere.toml"), &link).unwrap();
    e.check_no_state(&link).usage_error();
}

/// A path with byte 0xff in it: not UTF-8, but a perfectly good Unix file name.
fn non_utf8(dir: &Path, name: &[u8]) -> PathBuf {
    dir.join(OsStr::from_bytes(name))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

#[test]
fn non_utf8_profile_path_works_when_the_profile_is_valid() {
    let e = Env::new();
    let good = std::fs::read(e.path("profile.toml")).unwrap();
    let p = non_utf8(e.w.path(), b"prof\xffile.toml");
    assert!(p.to_str().is_none());
    std::fs::write(&p, &good).unwrap();
    e.check_no_state(&p).expect_code(0);
    // with state in a non-UTF-8 directory too: written, then read back on the next run
    let state = non_utf8(e.w.path(), b"st\xfete");
    e.check_with_state(&p, &state).expect_code(0);
    let written = state.join(PROJECT).join(format!("{CHANNEL}.json"));
    let st: ChannelState = serde_json::from_slice(&std::fs::read(&written).unwrap()).unwrap();
    assert_eq!(st.version, V);
    e.check_with_state(&p, &state).expect_code(0);

    // A whole world inside a non-UTF-8 directory, with the profile's relative paths
    // resolved against it (root and mirror next to the profile).
    let d = non_utf8(e.w.path(), b"w\xff\xfeorld");
    std::fs::create_dir(&d).unwrap();
    std::fs::copy(e.w.pinned_path(), d.join("root.json")).unwrap();
    copy_tree(Path::new(&e.w.url_of("fr")), &d.join("mirror"));
    std::fs::write(
        d.join("profile.toml"),
        "name = \"exampleos\"\nroot = \"root.json\"\nchannel = \"stable\"\n[[mirrors]]\nurl = \"mirror\"\ncountry = \"DE\"\n",
    )
    .unwrap();
    let out = e.run(&[
        OsStr::new("check"),
        d.join("profile.toml").as_os_str(),
        OsStr::new("--no-state"),
        OsStr::new("--json"),
    ]);
    out.expect_code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["latest"]["version"], V);
    // verify, online, of a downloaded file whose path is not UTF-8 either
    let art = d.join("mirror/artifacts/exampleos.img");
    let dl = non_utf8(&d, b"dl\xff.img");
    std::fs::copy(&art, &dl).unwrap();
    let renamed = d.join("exampleos.img");
    std::fs::copy(&art, &renamed).unwrap();
    e.run(&[
        OsStr::new("verify"),
        d.join("profile.toml").as_os_str(),
        OsStr::new("--no-state"),
        renamed.as_os_str(),
    ])
    .expect_code(0);
}

#[test]
fn non_utf8_profile_path_errors_are_one_line() {
    let e = Env::new();
    // missing
    let missing = non_utf8(e.w.path(), b"missing\xff.toml");
    e.check_no_state(&missing).usage_error_mentioning("missing");
    // garbage
    let garbage = non_utf8(e.w.path(), b"garbage\xff.toml");
    std::fs::write(&garbage, b"\xff\xfe garbage [[[").unwrap();
    e.check_no_state(&garbage).usage_error();
    // valid, but its pinned root (next to it, under a non-UTF-8 name) is missing
    let d = non_utf8(e.w.path(), b"d\xff");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("p.toml"),
        e.profile_text("no-such-root.json").as_bytes(),
    )
    .unwrap();
    e.check_no_state(&d.join("p.toml"))
        .usage_error_mentioning("no-such-root.json");
    // a non-UTF-8 --state that is a regular file
    let f = non_utf8(e.w.path(), b"state\xff");
    std::fs::write(&f, b"not a directory").unwrap();
    e.check_with_state(&e.path("profile.toml"), &f)
        .usage_error_mentioning("state");
    assert_eq!(std::fs::read(&f).unwrap(), b"not a directory");
}

/// File names may hold a newline; a message that prints one raw is two lines on stderr.
#[test]
fn newlines_in_local_paths_do_not_break_the_one_line_rule() {
    let e = Env::new();
    let mut failures = Vec::new();
    let mut check = |what: &str, out: Out| {
        if let Err(why) = out.check_usage_error() {
            failures.push(format!("[{what}] {why}"));
        }
    };
    // a profile named with a newline, missing
    check(
        "missing profile",
        e.check_no_state(&e.path("no\nsuch.toml")),
    );
    // a profile whose root path holds a newline
    let p = e.write(
        "nl-root.toml",
        b"name = \"x\"\nroot = \"no\\nsuch-root.json\"\nchannel = \"stable\"\n[[mirrors]]\nurl = \"m\"\n",
    );
    check("root path", e.check_no_state(&p));
    // a state directory whose name holds a newline, with a damaged state file
    let state = e.path("st\nate");
    e.write(&format!("st\nate/{PROJECT}/{CHANNEL}.json"), b"{ damaged");
    check(
        "state path",
        e.check_with_state(&e.path("profile.toml"), &state),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------
// Pinned roots

/// The key-table entry for raw public-key bytes, under their true key id.
fn key_entry(public: &[u8; 32]) -> (String, Value) {
    (
        sha256_hex(public),
        json!({ "keytype": "ed25519", "public": hex::encode(public) }),
    )
}

#[test]
fn invalid_pinned_roots_exit_2_with_one_line_naming_the_defect() {
    let e = Env::new();
    let base = e.root_doc();
    let rid = e.root_key_id();
    let rel0 = e.w.release_key_id(0);
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut d = base.clone();
        f(&mut d);
        e.signed_root(&d)
    };
    // The identity point (order 1), the point of order 2, y = 0 (order 4): all small-order.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order2 = [0xffu8; 32];
    order2[0] = 0xec;
    order2[31] = 0x7f;
    let zero = [0u8; 32];
    // y = p: a non-canonical encoding (of y = 0).
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xed;
    non_canonical[31] = 0x7f;

    // Raw JSON with the same key id twice in the `keys` object.
    let dup_keys = {
        let k = &base["keys"][&rid];
        let text = serde_json::to_string(&base).unwrap();
        let entry = format!("\"{rid}\":{}", serde_json::to_string(k).unwrap());
        let twice = text.replacen(&entry, &format!("{entry},{entry}"), 1);
        assert_ne!(text, twice, "the duplicate was inserted");
        e.signed(ROOT_TYPE, twice.as_bytes())
    };
    let dup_roles = {
        let text = serde_json::to_string(&base).unwrap();
        let roles = serde_json::to_string(&base["roles"]).unwrap();
        let twice = text.replacen(
            &format!("\"roles\":{roles}"),
            &format!("\"roles\":{roles},\"roles\":{roles}"),
            1,
        );
        assert_ne!(text, twice);
        e.signed(ROOT_TYPE, twice.as_bytes())
    };
    // Two signature entries by the one root key, for a root threshold of 2.
    let one_key_twice = {
        let mut d = base.clone();
        let (id1, k1) = (
            e.w.root_keys[1].public().id().to_string(),
            json!({"keytype": "ed25519", "public": e.w.root_keys[1].public().to_hex()}),
        );
        d["keys"][&id1] = k1;
        let mut ids = vec![rid.clone(), id1];
        ids.sort();
        d["roles"]["root"] = json!({ "keyids": ids, "threshold": 2 });
        let mut env = Envelope::unsigned(ROOT_TYPE, &serde_json::to_vec(&d).unwrap());
        env.sign(&e.w.root_keys[0]).unwrap();
        let again = env.signatures[0].clone();
        env.signatures.push(again);
        env.to_json_bytes()
    };
    let root_payload = serde_json::to_vec(&base).unwrap();
    let not_base64 = {
        let mut env: Value = serde_json::from_slice(&e.signed_root(&base)).unwrap();
        env["payload"] = json!("!!! not base64 !!!");
        serde_json::to_vec(&env).unwrap()
    };

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // not JSON, at either layer
        ("empty file", Vec::new(), "DSSE"),
        ("json null", b"null".to_vec(), "DSSE"),
        ("json array", b"[]".to_vec(), "DSSE"),
        ("payload not base64", not_base64, "base64"),
        (
            "payload not JSON",
            e.signed(ROOT_TYPE, b"\x00\x01 not json"),
            "JSON",
        ),
        (
            "payload is a JSON string",
            e.signed(ROOT_TYPE, b"\"root\""),
            "JSON",
        ),
        (
            "duplicate envelope field",
            {
                let env = String::from_utf8(e.signed_root(&base)).unwrap();
                env.replacen('{', "{\"payloadType\": \"x\",", 1)
                    .into_bytes()
            },
            "duplicate",
        ),
        // a valid root document under the release payload type
        (
            "release payload type",
            e.signed(RELEASE_TYPE, &root_payload),
            "payload type",
        ),
        (
            "type release",
            edit(&|d| d["type"] = json!("release")),
            "type",
        ),
        // thresholds
        (
            "root threshold 0",
            edit(&|d| d["roles"]["root"]["threshold"] = json!(0)),
            "threshold 0",
        ),
        (
            "release threshold 0",
            edit(&|d| d["roles"]["release"]["threshold"] = json!(0)),
            "threshold 0",
        ),
        (
            "root threshold above the key count",
            edit(&|d| d["roles"]["root"]["threshold"] = json!(2)),
            "threshold 2 for 1",
        ),
        (
            "release threshold above the key count",
            edit(&|d| d["roles"]["release"]["threshold"] = json!(4)),
            "threshold 4 for 3",
        ),
        (
            "threshold u64::MAX",
            edit(&|d| d["roles"]["release"]["threshold"] = json!(u64::MAX)),
            "threshold",
        ),
        (
            "negative threshold",
            edit(&|d| d["roles"]["release"]["threshold"] = json!(-1)),
            "JSON",
        ),
        (
            "fractional threshold",
            edit(&|d| d["roles"]["release"]["threshold"] = json!(1.5)),
            "JSON",
        ),
        // keys
        (
            "key id does not match its key",
            edit(&|d| {
                let k = d["keys"][&rel0].take();
                d["keys"].as_object_mut().unwrap().remove(&rel0);
                d["keys"]["0".repeat(64)] = k;
            }),
            "does not equal",
        ),
        (
            "two key ids swapped",
            edit(&|d| {
                let a = d["keys"][&rid].take();
                let b = d["keys"][&rel0].take();
                d["keys"][&rid] = b;
                d["keys"][&rel0] = a;
            }),
            "does not equal",
        ),
        (
            "weak key: identity point",
            edit(&|d| {
                let (id, k) = key_entry(&identity);
                d["keys"][id] = k;
            }),
            "weak",
        ),
        (
            "weak key: order 2",
            edit(&|d| {
                let (id, k) = key_entry(&order2);
                d["keys"][id] = k;
            }),
            "weak",
        ),
        (
            "weak key: all zero (order 4)",
            edit(&|d| {
                let (id, k) = key_entry(&zero);
                d["keys"][id] = k;
            }),
            "weak",
        ),
        (
            "weak key listed in the root role",
            edit(&|d| {
                let (id, k) = key_entry(&identity);
                d["keys"][&id] = k;
                d["roles"]["root"]["keyids"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!(id));
            }),
            "weak",
        ),
        (
            "non-canonical key encoding",
            edit(&|d| {
                let (id, k) = key_entry(&non_canonical);
                d["keys"][id] = k;
            }),
            "public key",
        ),
        (
            "uppercase hex key",
            edit(&|d| {
                let p = d["keys"][&rel0]["public"].as_str().unwrap().to_uppercase();
                d["keys"][&rel0]["public"] = json!(p);
            }),
            "hex",
        ),
        (
            "short key",
            edit(&|d| d["keys"][&rel0]["public"] = json!("abcd")),
            "hex",
        ),
        (
            "keytype rsa",
            edit(&|d| d["keys"][&rel0]["keytype"] = json!("rsa")),
            "ed25519",
        ),
        ("duplicate key id in keys", dup_keys, "duplicate key"),
        ("duplicate roles field", dup_roles, "duplicate key"),
        (
            "same key twice in a role",
            edit(&|d| {
                d["roles"]["release"]["keyids"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!(rel0));
            }),
            "twice",
        ),
        (
            "role lists a key not in keys",
            edit(&|d| {
                d["roles"]["release"]["keyids"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("ab".repeat(32)));
            }),
            "not in keys",
        ),
        (
            "missing release role",
            edit(&|d| {
                d["roles"].as_object_mut().unwrap().remove("release");
            }),
            "missing",
        ),
        (
            "missing root role",
            edit(&|d| {
                d["roles"].as_object_mut().unwrap().remove("root");
            }),
            "missing",
        ),
        (
            "no keys, no roles",
            edit(&|d| {
                d["keys"] = json!({});
                d["roles"] = json!({});
            }),
            "missing",
        ),
        (
            "one key signing twice for a threshold of 2",
            one_key_twice,
            "threshold not met",
        ),
        // document fields
        (
            "spec_version 2",
            edit(&|d| d["spec_version"] = json!(2)),
            "spec_version 2",
        ),
        (
            "version 0",
            edit(&|d| d["version"] = json!(0)),
            "at least 1",
        ),
        (
            "version above u64",
            e.signed(
                ROOT_TYPE,
                serde_json::to_string(&base)
                    .unwrap()
                    .replacen("\"version\":1", "\"version\":18446744073709551616", 1)
                    .as_bytes(),
            ),
            "JSON",
        ),
        (
            "expires without Z",
            edit(&|d| d["expires"] = json!("2036-11-22T14:00:00")),
            "RFC 3339",
        ),
        (
            "expires with an offset",
            edit(&|d| d["expires"] = json!("2036-11-22T14:00:00+00:00")),
            "RFC 3339",
        ),
        (
            "expires a date only",
            edit(&|d| d["expires"] = json!("2036-11-22")),
            "RFC 3339",
        ),
        (
            "expires not a string",
            edit(&|d| d["expires"] = json!(2036)),
            "JSON",
        ),
        (
            "missing project",
            edit(&|d| {
                d.as_object_mut().unwrap().remove("project");
            }),
            "project",
        ),
    ];
    // Guard against a case that is accidentally valid: the unedited document passes.
    let p = e.pin_bytes("control", &e.signed_root(&base));
    e.check_no_state(&p).expect_code(0);

    let mut failures = Vec::new();
    for (i, (name, bytes, needle)) in cases.into_iter().enumerate() {
        let p = e.pin_bytes(&format!("case{i}"), &bytes);
        let out = e.check_no_state(&p);
        match out.check_usage_error() {
            Err(why) => failures.push(format!("[{name}] {why}")),
            Ok(line) if !line.to_lowercase().contains(&needle.to_lowercase()) => failures.push(
                format!("[{name}] the message should mention {needle:?}: {line}"),
            ),
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Key ids come from the pinned root file; one holding a newline must not split the error.
#[test]
fn control_characters_in_root_key_ids_stay_on_one_line() {
    let e = Env::new();
    let base = e.root_doc();
    let rel0 = e.w.release_key_id(0);
    let mut failures = Vec::new();
    let bad_id = format!("{rel0}\nsecond line");
    let cases: Vec<(&str, Value)> = vec![
        ("key id mismatch", {
            let mut d = base.clone();
            let k = d["keys"][&rel0].take();
            d["keys"][&bad_id] = k;
            d
        }),
        ("role lists a key not in keys", {
            let mut d = base.clone();
            d["roles"]["release"]["keyids"]
                .as_array_mut()
                .unwrap()
                .push(json!(bad_id));
            d
        }),
        ("keytype", {
            let mut d = base.clone();
            d["keys"][&bad_id] = json!({"keytype": "rsa", "public": "00"});
            d
        }),
    ];
    for (name, doc) in cases {
        let p = e.pin_bytes(name, &e.signed_root(&doc));
        if let Err(why) = e.check_no_state(&p).check_usage_error() {
            failures.push(format!("[{name}] {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn pinned_root_that_is_a_directory_or_over_the_limit() {
    let e = Env::new();
    let d = e.path("roots/dir.json");
    std::fs::create_dir_all(&d).unwrap();
    let p = e.write(
        "p-dir.toml",
        e.profile_text(&d.display().to_string()).as_bytes(),
    );
    e.check_no_state(&p).usage_error_mentioning("dir.json");
    // over the metadata limit, by padding a valid envelope with whitespace
    let mut big = std::fs::read(e.w.pinned_path()).unwrap();
    big.extend(std::iter::repeat_n(b' ', 2 * 1024 * 1024));
    let p = e.pin_bytes("big", &big);
    e.check_no_state(&p).usage_error_mentioning("limit");
}

// ---------------------------------------------------------------------------------------
// State: unreadable, damaged

/// Where `check --state DIR` keeps this world's state.
fn state_file(dir: &Path) -> PathBuf {
    dir.join(PROJECT).join(format!("{CHANNEL}.json"))
}

#[test]
fn state_directory_that_is_a_regular_file() {
    let e = Env::new();
    let profile = e.path("profile.toml");
    // --state FILE (root ignores permission bits, so "unreadable" is made this way)
    let f = e.write("state-file", b"I am not a directory\n");
    e.check_with_state(&profile, &f)
        .usage_error_mentioning("state");
    assert_eq!(std::fs::read(&f).unwrap(), b"I am not a directory\n");
    // --state DIR where DIR/exampleos is a file
    let dir = e.path("s2");
    e.write("s2/exampleos", b"file");
    let before = snapshot(&dir);
    e.check_with_state(&profile, &dir)
        .usage_error_mentioning("state");
    assert_eq!(snapshot(&dir), before);

    // The default data directory (HOME/.local/share/mirrorproof) is a file.
    let data = e.home().join(".local/share/mirrorproof");
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    std::fs::write(&data, b"file").unwrap();
    e.run(&[
        OsStr::new("check"),
        profile.as_os_str(),
        OsStr::new("--artifacts"),
        OsStr::new("none"),
    ])
    .usage_error_mentioning("state");
    assert_eq!(std::fs::read(&data).unwrap(), b"file");
    // ... and through XDG_DATA_HOME
    let xdg = e.path("xdg");
    e.write("xdg/mirrorproof", b"file");
    let mut cmd = e.command(&[
        OsStr::new("check"),
        profile.as_os_str(),
        OsStr::new("--artifacts"),
        OsStr::new("none"),
    ]);
    cmd.env("XDG_DATA_HOME", &xdg);
    Env::run_cmd(cmd).usage_error_mentioning("state");
    assert_eq!(std::fs::read(xdg.join("mirrorproof")).unwrap(), b"file");
}

#[test]
fn damaged_state_is_refused_and_never_reset() {
    let e = Env::new();
    let profile = e.path("profile.toml");
    let good_hash = sha256_hex(b"v");
    let valid = String::from_utf8(state_bytes(V - 1, &good_hash)).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"\x00\xff garbage \x01".to_vec()),
        ("empty", Vec::new()),
        ("whitespace", b" \n\t\n".to_vec()),
        ("truncated", valid.as_bytes()[..valid.len() / 2].to_vec()),
        ("truncated by one", {
            let t = valid.trim_end();
            t.as_bytes()[..t.len() - 1].to_vec()
        }),
        ("json null", b"null".to_vec()),
        ("json array", b"[]".to_vec()),
        ("empty object", b"{}".to_vec()),
        (
            "version is a string",
            valid
                .replace(&format!("{}", V - 1), &format!("\"{}\"", V - 1))
                .into_bytes(),
        ),
        (
            "negative version",
            valid
                .replace(&format!("{}", V - 1), "-1")
                .into_bytes(),
        ),
        (
            "fractional version",
            valid
                .replace(&format!("{}", V - 1), "1.5")
                .into_bytes(),
        ),
        (
            "version above u64",
            valid
                .replace(&format!("{}", V - 1), "18446744073709551616")
                .into_bytes(),
        ),
        (
            "version null",
            valid.replace(&format!("{}", V - 1), "null").into_bytes(),
        ),
        (
            "hash is a number",
            valid
                .replace(&format!("\"{good_hash}\""), "12")
                .into_bytes(),
        ),
        ("hash too short", state_bytes(V - 1, &good_hash[..63])),
        ("hash too long", state_bytes(V - 1, &format!("{good_hash}0"))),
        (
            "hash uppercase",
            state_bytes(V - 1, &good_hash.to_uppercase()),
        ),
        ("hash not hex", state_bytes(V - 1, &"g".repeat(64))),
        ("hash empty", state_bytes(V - 1, "")),
        (
            "missing field",
            format!("{{\"version\": {}, \"payload_sha256\": \"{good_hash}\"}}", V - 1)
                .into_bytes(),
        ),
        (
            "duplicate field",
            format!(
                "{{\"version\": 1, \"version\": {}, \"payload_sha256\": \"{good_hash}\", \"updated\": \"2026-11-01T00:00:00Z\"}}",
                V + 100
            )
            .into_bytes(),
        ),
        ("trailing garbage", format!("{valid}}}").into_bytes()),
        ("over 64 KiB", {
            let mut b = valid.trim_end().as_bytes().to_vec();
            b.extend(std::iter::repeat_n(b' ', 70 * 1024));
            b
        }),
    ];
    let mut failures = Vec::new();
    for (i, (name, bytes)) in cases.into_iter().enumerate() {
        let dir = e.path(&format!("states/{i}"));
        let file = state_file(&dir);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &bytes).unwrap();
        let before = snapshot(&dir);
        let out = e.check_with_state(&profile, &dir);
        match out.check_usage_error() {
            Err(why) => failures.push(format!("[{name}] {why}")),
            Ok(line) if !line.contains("state") => failures.push(format!(
                "[{name}] the message should name the state: {line}"
            )),
            Ok(_) => {}
        }
        // Never a silent reset: the same bytes, nothing new beside them.
        if std::fs::read(&file).ok().as_deref() != Some(bytes.as_slice()) {
            failures.push(format!("[{name}] the damaged state file was changed"));
        }
        if snapshot(&dir) != before {
            failures.push(format!(
                "[{name}] something was written in the state directory: {:?}",
                snapshot(&dir).keys().collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // verify (offline, with --release) reads the same state and refuses the same way.
    let dir = e.path("states/verify");
    let file = state_file(&dir);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"{ damaged").unwrap();
    let release = PathBuf::from(e.w.url_of("fr")).join("stable/release.json");
    let artifact = PathBuf::from(e.w.url_of("fr")).join("artifacts/exampleos.img");
    e.run(&[
        OsStr::new("verify"),
        profile.as_os_str(),
        OsStr::new("--release"),
        release.as_os_str(),
        OsStr::new("--state"),
        dir.as_os_str(),
        artifact.as_os_str(),
    ])
    .usage_error_mentioning("state");
    assert_eq!(std::fs::read(&file).unwrap(), b"{ damaged");
}

// ---------------------------------------------------------------------------------------
// State: a write that fails

#[test]
fn state_path_that_is_a_directory() {
    let e = Env::new();
    let dir = e.path("state");
    std::fs::create_dir_all(state_file(&dir)).unwrap();
    std::fs::write(state_file(&dir).join("inside"), b"keep").unwrap();
    let before = snapshot(&dir);
    let line = e
        .check_with_state(&e.path("profile.toml"), &dir)
        .usage_error_mentioning("state")
        .to_owned();
    assert!(line.contains("stable.json"), "names the state file: {line}");
    assert_unchanged_but_lock(&before, &snapshot(&dir));
    assert!(temp_files(&dir).is_empty());
}

#[test]
fn state_project_directory_that_is_a_dangling_symlink() {
    // Reading finds no state (a fresh start); writing cannot create the directory. This is
    // the write path failing without any mount.
    let e = Env::new();
    let dir = e.path("state");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(e.path("nowhere"), dir.join(PROJECT)).unwrap();
    let before = snapshot(&dir);
    e.check_with_state(&e.path("profile.toml"), &dir)
        .report_then_state_error();
    assert_unchanged_but_lock(&before, &snapshot(&dir));
    assert!(!e.path("nowhere").exists());
    assert!(temp_files(e.w.path()).is_empty());
}

#[test]
fn disk_full_while_writing_the_state() {
    if skipped_without_root("disk_full_while_writing_the_state") {
        return;
    }
    let e = Env::new();
    let profile = e.path("profile.toml");

    // (1) An older valid state, then the disk fills: the newer one cannot be written, and
    // the old one must survive intact.
    let dir = e.path("full1");
    let _m1 = Mount::tmpfs(&dir, "64k");
    let older = state_bytes(V - 1, &sha256_hex(b"older"));
    std::fs::create_dir_all(dir.join(PROJECT)).unwrap();
    std::fs::write(state_file(&dir), &older).unwrap();
    fill(&dir);
    let before = snapshot(&dir);
    e.check_with_state(&profile, &dir).report_then_state_error();
    assert_eq!(std::fs::read(state_file(&dir)).unwrap(), older);
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
    assert_unchanged_but_lock(&before, &snapshot(&dir));

    // (2) A fresh, full state directory: nothing half-written is left.
    let dir = e.path("full2");
    let _m2 = Mount::tmpfs(&dir, "64k");
    fill(&dir);
    let before = snapshot(&dir);
    e.check_with_state(&profile, &dir).report_then_state_error();
    assert!(!state_file(&dir).exists(), "no partial state file");
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
    let mut after = snapshot(&dir);
    // The project directory (no data blocks on tmpfs) may have been created, empty.
    if after.get(Path::new(PROJECT)).is_some_and(|v| v == "dir") {
        after.remove(Path::new(PROJECT));
    }
    assert_unchanged_but_lock(&before, &after);

    // (3) Once there is room again, the same run records the state.
    std::fs::remove_file(dir.join("filler")).unwrap();
    e.check_with_state(&profile, &dir).expect_code(0);
    let st: ChannelState =
        serde_json::from_slice(&std::fs::read(state_file(&dir)).unwrap()).unwrap();
    assert_eq!(st.version, V);
}

#[test]
fn read_only_state_directory() {
    if skipped_without_root("read_only_state_directory") {
        return;
    }
    let e = Env::new();
    let profile = e.path("profile.toml");
    let older = state_bytes(V - 1, &sha256_hex(b"older"));

    // A read-only tmpfs holding an older state: the run must write, and cannot.
    let dir = e.path("ro-tmpfs");
    let m = Mount::tmpfs(&dir, "1m");
    std::fs::create_dir_all(dir.join(PROJECT)).unwrap();
    std::fs::write(state_file(&dir), &older).unwrap();
    m.remount_ro();
    let before = snapshot(&dir);
    e.check_with_state(&profile, &dir).report_then_state_error();
    assert_eq!(snapshot(&dir), before);

    // Empty and read-only: no state yet, none can be recorded.
    let dir = e.path("ro-empty");
    let m2 = Mount::tmpfs(&dir, "1m");
    m2.remount_ro();
    e.check_with_state(&profile, &dir).report_then_state_error();
    assert!(snapshot(&dir).len() == 1, "{:?}", snapshot(&dir));

    // A read-only bind mount of an ordinary directory holding an older state.
    let src = e.path("bind-src");
    std::fs::create_dir_all(src.join(PROJECT)).unwrap();
    std::fs::write(state_file(&src), &older).unwrap();
    let dir = e.path("ro-bind");
    let _b = Mount::bind_ro(&src, &dir);
    let before = snapshot(&src);
    e.check_with_state(&profile, &dir).report_then_state_error();
    assert_eq!(snapshot(&src), before);
    assert!(temp_files(&src).is_empty());

    // Control: a read-only state that is already current needs no write, so the run is
    // fine; the failures above come from the write, not from the read.
    std::fs::write(state_file(&src), state_bytes(V, &current_hash(&e))).unwrap();
    e.check_with_state(&profile, &dir).expect_code(0);
}

/// The payload hash of the release the world's mirror serves.
fn current_hash(e: &Env) -> String {
    let bytes = std::fs::read(PathBuf::from(e.w.url_of("fr")).join("stable/release.json")).unwrap();
    let env = Envelope::parse(&bytes, 1 << 20).unwrap();
    sha256_hex(&env.payload_bytes().unwrap())
}

#[test]
fn read_only_state_still_catches_a_rollback() {
    if skipped_without_root("read_only_state_still_catches_a_rollback") {
        return;
    }
    // The recorded state says a newer release was seen; the directory is read-only. The run
    // cannot write, but it must still read: the mirror's older release is a rollback.
    let e = Env::new();
    let src = e.path("ro-newer-src");
    std::fs::create_dir_all(src.join(PROJECT)).unwrap();
    std::fs::write(state_file(&src), state_bytes(V + 1, &sha256_hex(b"newer"))).unwrap();
    let dir = e.path("ro-newer");
    let _b = Mount::bind_ro(&src, &dir);
    let before = snapshot(&src);
    let out = e.check_with_state(&e.path("profile.toml"), &dir);
    out.expect_code(1);
    assert!(out.stdout.contains("rollback"), "{}", out.describe());
    assert!(
        out.stderr.is_empty(),
        "nothing needed writing:\n{}",
        out.describe()
    );
    assert_eq!(snapshot(&src), before);
}

#[test]
fn no_home_prints_the_report_then_says_where_state_could_go() {
    let e = Env::new();
    let mut cmd = e.command(&[
        OsStr::new("check"),
        e.path("profile.toml").as_os_str(),
        OsStr::new("--artifacts"),
        OsStr::new("none"),
    ]);
    cmd.env_remove("HOME");
    let out = Env::run_cmd(cmd);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stdout.contains("the same release"),
        "{}",
        out.describe()
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.describe());
    for needle in ["no data directory", "--state DIR", "--no-state"] {
        assert!(lines[0].contains(needle), "{needle:?}:\n{}", out.describe());
    }
    // With --no-state the same run is simply fine.
    let mut cmd = e.command(&[
        OsStr::new("check"),
        e.path("profile.toml").as_os_str(),
        OsStr::new("--artifacts"),
        OsStr::new("none"),
        OsStr::new("--no-state"),
    ]);
    cmd.env_remove("HOME");
    Env::run_cmd(cmd).expect_code(0);
}
