//! Differential tests: the real reference verifiers (signify-openbsd, minisign,
//! `ssh-keygen -Y verify`) and `mirrorproof verify --key/--sig` judge the same corpus of
//! genuine and tampered files and must give the same verdict. Where mirrorproof is
//! deliberately stricter, the case asserts both answers (mirrorproof refuses, the reference
//! tool accepts), so the test documents the difference and fails if either side changes.
//!
//! Keys and signatures are made by the reference tools themselves (`common::ecosystems`);
//! variants are generated programmatically (every byte of a decoded signature flipped, and
//! so on). The tools come from Debian's packages: `scripts/install-reference-tools.sh`.
//! Signed notes have no reference tool there, so they are checked against Go's published
//! test vectors and a real sum.golang.org checkpoint instead.
//!
//! Each corpus prints one summary line (run with `--nocapture` to see it); the assertions
//! decide.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::ecosystems::{Minisign, Signify, Ssh, tool, tool_accepts};
use mirrorproof::keys::SecretKey;
use sha2::{Digest, Sha256, Sha512};

const MP: &str = env!("CARGO_BIN_EXE_mirrorproof");

/// Ed25519's group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Rejections that are verification failures.
const FAIL: &[i32] = &[1];
/// Rejections of a tampered key file: a key that no longer parses (or is not a valid
/// Ed25519 point) is a configuration error (2); one that parses fails the signature (1).
const FAIL_OR_BAD_KEY: &[i32] = &[1, 2];
/// The key file itself is refused as a configuration error.
const BAD_KEY: &[i32] = &[2];

// ---------------------------------------------------------------------------------------
// Running the tools
// ---------------------------------------------------------------------------------------

/// What one program run said: exit code (`None` if killed by a signal) and its output.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    text: String,
}

impl Ran {
    fn accepted(&self) -> bool {
        self.code == Some(0)
    }
}

fn run(program: &str, args: &[String], cwd: &Path, stdin: Option<&Path>) -> Ran {
    let stdin = match stdin {
        Some(p) => Stdio::from(
            std::fs::File::open(p).unwrap_or_else(|e| panic!("stdin {}: {e}", p.display())),
        ),
        None => Stdio::null(),
    };
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(stdin)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}); install the reference tools: scripts/install-reference-tools.sh"
            )
        });
    Ran {
        code: out.status.code(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `mirrorproof ARGS`.
fn ours(args: &[String], cwd: &Path) -> Ran {
    run(MP, args, cwd, None)
}

fn p(path: &Path) -> String {
    path.to_str().expect("UTF-8 temp path").to_owned()
}

fn strings<const N: usize>(args: [&str; N]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// `verify --key KEY --sig SIG [EXTRA...] [FILE...]`.
fn verify_args(key: &Path, sig: &Path, extra: &[&str], files: &[&Path]) -> Vec<String> {
    let mut a = strings(["verify", "--key", &p(key), "--sig", &p(sig)]);
    a.extend(extra.iter().map(|s| (*s).to_owned()));
    a.extend(files.iter().map(|f| p(f)));
    a
}

/// Shortens tool output for an assertion message.
fn excerpt(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 400 {
        format!("{}...", s.chars().take(400).collect::<String>())
    } else {
        s.to_owned()
    }
}

// ---------------------------------------------------------------------------------------
// Corpus and judge
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Both accept.
    Accept,
    /// Both reject; mirrorproof exits with one of the case's codes.
    Reject,
    /// mirrorproof rejects on purpose (with one of the case's codes); the reference tool
    /// accepts.
    Stricter,
}

type Reference = Box<dyn Fn(&Path) -> Ran>;

struct Case {
    name: String,
    expect: Expect,
    codes: &'static [i32],
    reference: Reference,
    ours: Vec<String>,
}

/// A list of cases for one format, with a scratch directory for their files.
struct Corpus {
    format: &'static str,
    tool: &'static str,
    dir: PathBuf,
    files: usize,
    cases: Vec<Case>,
}

impl Corpus {
    fn new(format: &'static str, tool: &'static str, dir: &Path) -> Corpus {
        let dir = dir.join(format!("corpus-{format}"));
        std::fs::create_dir_all(&dir).unwrap();
        Corpus {
            format,
            tool,
            dir,
            files: 0,
            cases: Vec::new(),
        }
    }

    /// Writes a case file with a unique name ending in `suffix`.
    fn file(&mut self, suffix: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        self.files += 1;
        let path = self.dir.join(format!("{:04}-{suffix}", self.files));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A fresh path for a reference tool to write to.
    fn out_path(&mut self, suffix: &str) -> PathBuf {
        self.files += 1;
        self.dir.join(format!("{:04}-{suffix}", self.files))
    }

    fn add(
        &mut self,
        name: impl Into<String>,
        expect: Expect,
        codes: &'static [i32],
        reference: Reference,
        ours: Vec<String>,
    ) {
        self.cases.push(Case {
            name: name.into(),
            expect,
            codes,
            reference,
            ours,
        });
    }

    /// Runs every case through both verifiers, prints the summary line and fails with
    /// every disagreement at once.
    fn judge(self) -> Tally {
        let mut tally = Tally::default();
        let mut failures = Vec::new();
        let mut stricter_names = Vec::new();
        for case in &self.cases {
            tally.cases += 1;
            let r = (case.reference)(&self.dir);
            let o = ours(&case.ours, &self.dir);
            let mut problems = Vec::new();
            if r.code.is_none() {
                problems.push(format!("{} was killed by a signal", self.tool));
            }
            match o.code {
                None => problems.push("mirrorproof was killed by a signal".into()),
                Some(c) if c != 0 && c != 1 && c != 2 => {
                    problems.push(format!("mirrorproof exited {c}"))
                }
                _ => {}
            }
            if o.text.contains("panicked") {
                problems.push("mirrorproof panicked".into());
            }
            let ours_rejects = o.code.is_some_and(|c| case.codes.contains(&c));
            match case.expect {
                Expect::Accept => {
                    if !r.accepted() {
                        problems.push(format!("{} should accept", self.tool));
                    }
                    if !o.accepted() {
                        problems.push("mirrorproof should accept (exit 0)".into());
                    }
                }
                Expect::Reject => {
                    if r.accepted() {
                        problems.push(format!("{} should reject", self.tool));
                    }
                    if !ours_rejects {
                        problems.push(format!(
                            "mirrorproof should reject with exit {:?}",
                            case.codes
                        ));
                    }
                }
                Expect::Stricter => {
                    if !r.accepted() {
                        problems.push(format!(
                            "{} should accept (the documented leniency changed)",
                            self.tool
                        ));
                    }
                    if !ours_rejects {
                        problems.push(format!(
                            "mirrorproof should refuse with exit {:?} (stricter than {})",
                            case.codes, self.tool
                        ));
                    }
                }
            }
            if problems.is_empty() {
                match case.expect {
                    Expect::Stricter => {
                        tally.stricter += 1;
                        stricter_names.push(format!(
                            "{} (exit {})",
                            case.name,
                            o.code.unwrap_or(-1)
                        ));
                    }
                    _ => tally.agreed += 1,
                }
            } else {
                failures.push(format!(
                    "[{}] {}: {}\n    {} exit {:?}: {}\n    mirrorproof {:?} exit {:?}: {}",
                    self.format,
                    case.name,
                    problems.join("; "),
                    self.tool,
                    r.code,
                    excerpt(&r.text),
                    case.ours,
                    o.code,
                    excerpt(&o.text)
                ));
            }
        }
        println!(
            "differential {}: {} cases, {} agreed with {}, {} stricter (mirrorproof refuses what {} accepts), {} failed",
            self.format,
            tally.cases,
            tally.agreed,
            self.tool,
            tally.stricter,
            self.tool,
            failures.len()
        );
        for name in &stricter_names {
            println!("  stricter than {}: {name}", self.tool);
        }
        assert!(
            failures.is_empty(),
            "{} of {} {} cases failed:\n{}",
            failures.len(),
            tally.cases,
            self.format,
            failures.join("\n")
        );
        tally
    }
}

#[derive(Debug, Default)]
struct Tally {
    cases: usize,
    agreed: usize,
    stricter: usize,
}

// ---------------------------------------------------------------------------------------
// Byte surgery
// ---------------------------------------------------------------------------------------

/// Adds L to a little-endian 32-byte scalar S: the verification equation still holds, so a
/// verifier that does not insist on a canonical S (< L) accepts the result.
fn add_l(s: &mut [u8]) {
    assert_eq!(s.len(), 32);
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + L overflowed 32 bytes");
}

fn b64d(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// Decodes line `idx` (0-based, split at `\n`) of a signify or minisign file, lets `f`
/// change the bytes, and writes the line back as canonical base64.
fn edit_b64_line(text: &str, idx: usize, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let mut raw = b64d(&lines[idx]);
    f(&mut raw);
    lines[idx] = STANDARD.encode(&raw);
    lines.join("\n")
}

fn replace_line(text: &str, idx: usize, line: &str) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    lines[idx] = line.to_owned();
    lines.join("\n")
}

fn flipped(bytes: &[u8], pos: usize, mask: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[pos] ^= mask;
    b
}

/// Deterministic message bytes, every byte value included.
fn message(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
        .collect()
}

/// Byte positions spread over a message of `len` bytes.
fn spread(len: usize) -> Vec<usize> {
    let mut v = vec![0, 1, len / 3, len / 2, len - 2, len - 1];
    v.dedup();
    v
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// signify
// ---------------------------------------------------------------------------------------

/// `TOOL -V -p KEY -x SIG -m MSG` (signify-openbsd and minisign share this command line)
/// against `mirrorproof verify --key KEY --sig SIG MSG`.
#[allow(clippy::too_many_arguments)]
fn detached_case(
    c: &mut Corpus,
    tool: &'static str,
    name: impl Into<String>,
    expect: Expect,
    codes: &'static [i32],
    key: &Path,
    sig: &Path,
    msg: &Path,
) {
    let args = strings(["-V", "-p", &p(key), "-x", &p(sig), "-m", &p(msg)]);
    c.add(
        name,
        expect,
        codes,
        Box::new(move |cwd| run(tool, &args, cwd, None)),
        verify_args(key, sig, &[], &[msg]),
    );
}

fn signify_detached_case(
    c: &mut Corpus,
    name: impl Into<String>,
    expect: Expect,
    codes: &'static [i32],
    key: &Path,
    sig: &Path,
    msg: &Path,
) {
    detached_case(c, "signify-openbsd", name, expect, codes, key, sig, msg);
}

#[test]
fn signify_detached_matches_signify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Signify::keygen(dir, "k");
    let (other_key, other_sec) = Signify::keygen(dir, "other");
    let msg_bytes = message(300, 7);
    let msg = dir.join("msg.bin");
    std::fs::write(&msg, &msg_bytes).unwrap();
    let sig_path = dir.join("msg.bin.sig");
    Signify::sign(&sec, &msg, &sig_path);
    let sig = read(&sig_path);
    let other_sig_path = dir.join("msg.bin.other.sig");
    Signify::sign(&other_sec, &msg, &other_sig_path);
    let msg2 = dir.join("msg2.bin");
    std::fs::write(&msg2, message(300, 8)).unwrap();
    let sig2_path = dir.join("msg2.bin.sig");
    Signify::sign(&sec, &msg2, &sig2_path);
    let key_text = read(&key);

    let mut c = Corpus::new("signify detached", "signify-openbsd", dir);
    let ok = |c: &mut Corpus, name: &str, s: &str| {
        let f = c.file("sig", s);
        signify_detached_case(c, name, Expect::Accept, FAIL, &key, &f, &msg);
    };
    ok(&mut c, "genuine", &sig);
    ok(
        &mut c,
        "untrusted comment changed",
        &replace_line(&sig, 0, "untrusted comment: anything at all"),
    );

    // The message.
    for pos in spread(msg_bytes.len()) {
        for mask in [0x01, 0x80] {
            let m = c.file("msg", flipped(&msg_bytes, pos, mask));
            signify_detached_case(
                &mut c,
                format!("message byte {pos} ^ {mask:#04x}"),
                Expect::Reject,
                FAIL,
                &key,
                &sig_path,
                &m,
            );
        }
    }
    let mut longer = msg_bytes.clone();
    longer.push(b'\n');
    for (name, bytes) in [
        ("message with a byte appended", longer),
        (
            "message truncated by one byte",
            msg_bytes[..msg_bytes.len() - 1].to_vec(),
        ),
        ("empty message", Vec::new()),
    ] {
        let m = c.file("msg", bytes);
        signify_detached_case(&mut c, name, Expect::Reject, FAIL, &key, &sig_path, &m);
    }
    signify_detached_case(
        &mut c,
        "signature of another message",
        Expect::Reject,
        FAIL,
        &key,
        &sig2_path,
        &msg,
    );

    // Every byte of the decoded signature: "Ed", key number, R, S.
    for pos in 0..74 {
        let s = edit_b64_line(&sig, 1, |raw| raw[pos] ^= 0x01);
        let f = c.file("sig", s);
        signify_detached_case(
            &mut c,
            format!("signature byte {pos} ^ 0x01"),
            Expect::Reject,
            FAIL,
            &key,
            &f,
            &msg,
        );
    }
    for pos in [10, 41, 42, 73] {
        let s = edit_b64_line(&sig, 1, |raw| raw[pos] ^= 0x80);
        let f = c.file("sig", s);
        signify_detached_case(
            &mut c,
            format!("signature byte {pos} ^ 0x80"),
            Expect::Reject,
            FAIL,
            &key,
            &f,
            &msg,
        );
    }

    // Wrong key: the key number says so; with the key number forged, Ed25519 says so.
    signify_detached_case(
        &mut c,
        "signed by another key (keynum mismatch)",
        Expect::Reject,
        FAIL,
        &key,
        &other_sig_path,
        &msg,
    );
    let keynum = b64d(key_text.lines().nth(1).unwrap())[2..10].to_vec();
    let forged = edit_b64_line(&read(&other_sig_path), 1, |raw| {
        raw[2..10].copy_from_slice(&keynum)
    });
    let f = c.file("sig", forged);
    signify_detached_case(
        &mut c,
        "signed by another key, keynum forged",
        Expect::Reject,
        FAIL,
        &key,
        &f,
        &msg,
    );

    // Truncations of the signature file.
    let first_nl = sig.find('\n').unwrap();
    for len in [
        0,
        1,
        10,
        first_nl,
        first_nl + 1,
        first_nl + 51,
        sig.len() - 2,
        sig.len() - 1,
    ] {
        let f = c.file("sig", &sig[..len]);
        signify_detached_case(
            &mut c,
            format!("signature file truncated to {len} bytes"),
            Expect::Reject,
            FAIL,
            &key,
            &f,
            &msg,
        );
    }

    // Malformed files both refuse.
    let b64 = sig.lines().nth(1).unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let last = b64.as_bytes()[b64.len() - 2];
    let idx = alphabet.iter().position(|&a| a == last).unwrap();
    let non_canonical = format!("{}{}=", &b64[..b64.len() - 2], alphabet[idx ^ 1] as char);
    for (name, s) in [
        (
            "empty untrusted comment",
            replace_line(&sig, 0, "untrusted comment: "),
        ),
        (
            "no untrusted comment header",
            replace_line(&sig, 0, "untrusted  comment: x"),
        ),
        (
            "base64 not canonical (unused bits set)",
            replace_line(&sig, 1, &non_canonical),
        ),
        (
            "base64 padding removed",
            replace_line(&sig, 1, &b64[..b64.len() - 1]),
        ),
        ("public key given as the signature", key_text.clone()),
    ] {
        let f = c.file("sig", s);
        signify_detached_case(&mut c, name, Expect::Reject, FAIL, &key, &f, &msg);
    }

    // S + L: the same signature with a non-canonical scalar. signify's ref10 code accepts
    // it; mirrorproof verifies strictly and refuses.
    let s = edit_b64_line(&sig, 1, |raw| add_l(&mut raw[10 + 32..74]));
    let f = c.file("sig", s);
    signify_detached_case(
        &mut c,
        "S + L (non-canonical S)",
        Expect::Stricter,
        FAIL,
        &key,
        &f,
        &msg,
    );
    // Other spellings of one signature, which signify tolerates: one file, one spelling.
    for (name, s) in [
        ("CRLF line endings", sig.replace('\n', "\r\n")),
        (
            "CRLF on the comment line only",
            sig.replacen('\n', "\r\n", 1),
        ),
        (
            "space inside the base64",
            replace_line(&sig, 1, &format!("{} {}", &b64[..20], &b64[20..])),
        ),
        ("junk after a detached signature", format!("{sig}junk\n")),
    ] {
        let f = c.file("sig", s);
        signify_detached_case(&mut c, name, Expect::Stricter, FAIL, &key, &f, &msg);
    }

    // The key.
    for pos in 0..42 {
        let k = edit_b64_line(&key_text, 1, |raw| raw[pos] ^= 0x01);
        let kf = c.file("pub", k);
        signify_detached_case(
            &mut c,
            format!("public key byte {pos} ^ 0x01"),
            Expect::Reject,
            FAIL_OR_BAD_KEY,
            &kf,
            &sig_path,
            &msg,
        );
    }
    let kf = c.file("pub", &key_text[..key_text.len() - 1]);
    signify_detached_case(
        &mut c,
        "public key without its final newline",
        Expect::Reject,
        BAD_KEY,
        &kf,
        &sig_path,
        &msg,
    );
    for (name, k) in [
        ("junk after the public key", format!("{key_text}junk\n")),
        (
            "public key with CRLF line endings",
            key_text.replace('\n', "\r\n"),
        ),
    ] {
        let kf = c.file("pub", k);
        signify_detached_case(
            &mut c,
            name,
            Expect::Stricter,
            BAD_KEY,
            &kf,
            &sig_path,
            &msg,
        );
    }
    signify_detached_case(
        &mut c,
        "public key of another key pair",
        Expect::Reject,
        FAIL,
        &other_key,
        &sig_path,
        &msg,
    );

    let t = c.judge();
    assert!(t.cases >= 100, "{t:?}");
}

#[test]
fn signify_embedded_matches_signify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Signify::keygen(dir, "k");
    let (_, other_sec) = Signify::keygen(dir, "other");
    let list = checksum_list(&[
        ("bsd", b"kernel".as_slice()),
        ("bsd.rd", b"ramdisk"),
        ("base80.tgz", b"base set"),
    ]);
    let list_path = dir.join("SHA256");
    std::fs::write(&list_path, &list).unwrap();
    let sig_path = dir.join("SHA256.sig");
    Signify::sign_embedded(&sec, &list_path, &sig_path);
    let other_sig_path = dir.join("SHA256.other.sig");
    Signify::sign_embedded(&other_sec, &list_path, &other_sig_path);
    let sig = read(&sig_path);
    let header_len = sig.match_indices('\n').nth(1).unwrap().0 + 1;
    let (header, body) = sig.split_at(header_len);
    assert_eq!(body, list);

    let mut c = Corpus::new("signify embedded", "signify-openbsd", dir);
    let case = |c: &mut Corpus, name: String, expect: Expect, s: &str| {
        let f = c.file("sig", s);
        let out = c.out_path("out");
        let args = strings(["-V", "-e", "-p", &p(&key), "-x", &p(&f), "-m", &p(&out)]);
        c.add(
            name,
            expect,
            FAIL,
            Box::new(move |cwd| run("signify-openbsd", &args, cwd, None)),
            verify_args(&key, &f, &[], &[]),
        );
    };
    case(&mut c, "genuine".into(), Expect::Accept, &sig);
    case(
        &mut c,
        "untrusted comment changed".into(),
        Expect::Accept,
        &replace_line(&sig, 0, "untrusted comment: verify with something else"),
    );
    // Every 9th byte of the embedded list, two ways.
    for pos in (0..body.len()).step_by(9) {
        for mask in [0x01u8, 0x20] {
            let mut b = body.as_bytes().to_vec();
            b[pos] ^= mask;
            let s = format!("{header}{}", String::from_utf8_lossy(&b));
            case(
                &mut c,
                format!("embedded byte {pos} ^ {mask:#04x}"),
                Expect::Reject,
                &s,
            );
        }
    }
    let lines: Vec<&str> = body.lines().collect();
    for (name, b) in [
        (
            "a line appended to the list",
            format!("{body}SHA256 (evil) = {}\n", "0".repeat(64)),
        ),
        (
            "last line dropped",
            lines[..lines.len() - 1]
                .iter()
                .map(|l| format!("{l}\n"))
                .collect(),
        ),
        ("final newline dropped", body[..body.len() - 1].to_owned()),
        ("lines swapped", {
            let mut l = lines.clone();
            l.swap(0, 1);
            l.iter().map(|l| format!("{l}\n")).collect()
        }),
        ("list with CRLF line endings", body.replace('\n', "\r\n")),
    ] {
        case(&mut c, name.into(), Expect::Reject, &format!("{header}{b}"));
    }
    for pos in (0..74).step_by(3) {
        let s = edit_b64_line(&sig, 1, |raw| raw[pos] ^= 0x01);
        case(
            &mut c,
            format!("signature byte {pos} ^ 0x01"),
            Expect::Reject,
            &s,
        );
    }
    case(
        &mut c,
        "signed by another key".into(),
        Expect::Reject,
        &read(&other_sig_path),
    );
    let s = edit_b64_line(&sig, 1, |raw| add_l(&mut raw[42..74]));
    case(
        &mut c,
        "S + L (non-canonical S)".into(),
        Expect::Stricter,
        &s,
    );
    let crlf_header = header.replace('\n', "\r\n");
    case(
        &mut c,
        "CRLF on the two header lines".into(),
        Expect::Stricter,
        &format!("{crlf_header}{body}"),
    );

    let t = c.judge();
    assert!(t.cases >= 50, "{t:?}");
}

/// `sha256sum --tag` output for these files, plus a SHA512 line for the second one (BSD
/// lists may mix both).
fn checksum_list(files: &[(&str, &[u8])]) -> String {
    let mut s = String::new();
    for (name, bytes) in files {
        s.push_str(&format!(
            "SHA256 ({name}) = {}\n",
            hex::encode(Sha256::digest(bytes))
        ));
    }
    if let Some((name, bytes)) = files.get(1) {
        s.push_str(&format!(
            "SHA512 ({name}) = {}\n",
            hex::encode(Sha512::digest(bytes))
        ));
    }
    s
}

/// Per-file verdicts from `signify -C` (`NAME: OK` / `NAME: FAIL`).
fn signify_c_verdicts(text: &str) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = text
        .lines()
        .filter_map(|l| {
            if let Some(n) = l.strip_suffix(": OK") {
                Some((n.to_owned(), true))
            } else {
                l.strip_suffix(": FAIL").map(|n| (n.to_owned(), false))
            }
        })
        .collect();
    v.sort();
    v
}

/// Per-file verdicts from mirrorproof (`OK  NAME  ...` / `FAILED  NAME  ...`).
fn our_verdicts(text: &str) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = text
        .lines()
        .filter_map(|l| {
            if let Some(rest) = l.strip_prefix("OK  ") {
                Some((rest.split("  ").next()?.to_owned(), true))
            } else {
                let rest = l.strip_prefix("FAILED  ")?;
                Some((rest.split("  ").next()?.to_owned(), false))
            }
        })
        .collect();
    v.sort();
    v
}

#[test]
fn signify_checksum_lists_match_signify_c() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Signify::keygen(dir, "k");
    let (_, other_sec) = Signify::keygen(dir, "other");
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("a.bin", message(4000, 1)),
        ("b.bin", message(1000, 2)),
        ("c.tgz", message(5, 3)),
    ];
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let list = checksum_list(&borrowed);
    let list_path = dir.join("SHA256");
    std::fs::write(&list_path, &list).unwrap();
    let sig = dir.join("SHA256.sig");
    Signify::sign_embedded(&sec, &list_path, &sig);
    let other_sig = dir.join("SHA256.other.sig");
    Signify::sign_embedded(&other_sec, &list_path, &other_sig);
    let sig_text = read(&sig);
    let bad_sig = dir.join("SHA256.flipped.sig");
    std::fs::write(&bad_sig, edit_b64_line(&sig_text, 1, |raw| raw[50] ^= 0x01)).unwrap();
    let bad_list = dir.join("SHA256.digest-changed.sig");
    // Change one hex digit of a.bin's digest in the signed list.
    let digest_at = sig_text.find("SHA256 (a.bin) = ").unwrap() + "SHA256 (a.bin) = ".len();
    let mut changed = sig_text.clone().into_bytes();
    changed[digest_at] = if changed[digest_at] == b'0' {
        b'1'
    } else {
        b'0'
    };
    std::fs::write(&bad_list, changed).unwrap();

    /// One scenario: which files are on disk (possibly altered), which are named.
    struct Scenario {
        name: String,
        sig: PathBuf,
        on_disk: Vec<(String, Vec<u8>)>,
        named: Vec<String>,
        /// signify -C passes every named file; mirrorproof refuses (exit 1) on purpose.
        stricter: bool,
    }
    let genuine: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| ((*n).to_owned(), b.clone()))
        .collect();
    let all: Vec<String> = files.iter().map(|(n, _)| (*n).to_owned()).collect();
    let mut scenarios = vec![
        Scenario {
            name: "every listed file genuine".into(),
            sig: sig.clone(),
            on_disk: genuine.clone(),
            named: all.clone(),
            stricter: false,
        },
        Scenario {
            name: "one genuine file named".into(),
            sig: sig.clone(),
            on_disk: genuine.clone(),
            named: vec!["b.bin".into()],
            stricter: false,
        },
        Scenario {
            name: "a file missing from the list is named".into(),
            sig: sig.clone(),
            on_disk: [genuine.clone(), vec![("x.bin".into(), b"x".to_vec())]].concat(),
            named: vec!["a.bin".into(), "x.bin".into()],
            stricter: false,
        },
        Scenario {
            name: "list signature flipped".into(),
            sig: bad_sig.clone(),
            on_disk: genuine.clone(),
            named: all.clone(),
            stricter: false,
        },
        Scenario {
            name: "a digest in the signed list changed".into(),
            sig: bad_list.clone(),
            on_disk: genuine.clone(),
            named: all.clone(),
            stricter: false,
        },
        Scenario {
            name: "list signed by another key".into(),
            sig: other_sig.clone(),
            on_disk: genuine.clone(),
            named: all.clone(),
            stricter: false,
        },
    ];
    for (i, (name, bytes)) in files.iter().enumerate() {
        let with = |new: Option<Vec<u8>>| -> Vec<(String, Vec<u8>)> {
            genuine
                .iter()
                .enumerate()
                .filter_map(|(j, f)| {
                    if j != i {
                        Some(f.clone())
                    } else {
                        new.clone().map(|b| (f.0.clone(), b))
                    }
                })
                .collect()
        };
        let mid = bytes.len() / 2;
        let mut appended = bytes.clone();
        appended.push(0);
        for (what, disk) in [
            ("changed", with(Some(flipped(bytes, mid, 0x01)))),
            ("first byte changed", with(Some(flipped(bytes, 0, 0x80)))),
            ("truncated", with(Some(bytes[..bytes.len() - 1].to_vec()))),
            ("extended", with(Some(appended))),
            ("emptied", with(Some(Vec::new()))),
            ("missing on disk", with(None)),
        ] {
            scenarios.push(Scenario {
                name: format!("{name} {what}"),
                sig: sig.clone(),
                on_disk: disk,
                named: all.clone(),
                stricter: false,
            });
        }
    }

    // The list itself: spellings signify -C refuses or accepts, and lists it reads more
    // loosely than mirrorproof (one line per file name wins; stray bytes tolerated).
    let (ha, hb) = (
        hex::encode(Sha256::digest(&files[0].1)),
        hex::encode(Sha256::digest(&files[1].1)),
    );
    let wrong512 = "0".repeat(128);
    let lists: Vec<(&str, String, bool)> = vec![
        (
            "digest in uppercase hex",
            format!("SHA256 (a.bin) = {}\n", ha.to_uppercase()),
            false,
        ),
        ("GNU coreutils format", format!("{ha}  a.bin\n"), false),
        ("OpenSSL format", format!("SHA256(a.bin)= {ha}\n"), false),
        (
            "an empty line in the list",
            format!("SHA256 (a.bin) = {ha}\n\nSHA256 (b.bin) = {hb}\n"),
            false,
        ),
        (
            "only an unsupported SHA1 line",
            format!("SHA1 (a.bin) = {}\n", &ha[..40]),
            false,
        ),
        (
            "a line that is not a checksum",
            format!("hello world\nSHA256 (a.bin) = {ha}\n"),
            false,
        ),
        (
            "digest two characters short",
            format!("SHA256 (a.bin) = {}\n", &ha[..62]),
            false,
        ),
        (
            "entry named ./a.bin",
            format!("SHA256 (./a.bin) = {ha}\n"),
            false,
        ),
        ("no final newline", format!("SHA256 (a.bin) = {ha}"), false),
        (
            "the same line twice",
            format!("SHA256 (a.bin) = {ha}\nSHA256 (a.bin) = {ha}\n"),
            false,
        ),
        (
            "CRLF line endings in the list",
            format!("SHA256 (a.bin) = {ha}\r\nSHA256 (b.bin) = {hb}\r\n"),
            true,
        ),
        (
            "a space after the digest",
            format!("SHA256 (a.bin) = {ha} \n"),
            true,
        ),
        (
            "a.bin listed twice with different digests, the right one first",
            format!("SHA256 (a.bin) = {ha}\nSHA256 (a.bin) = {hb}\n"),
            true,
        ),
        (
            "right SHA256 but wrong SHA512 for a.bin",
            format!("SHA256 (a.bin) = {ha}\nSHA512 (a.bin) = {wrong512}\n"),
            true,
        ),
        (
            "an unsupported SHA1 line for another file",
            format!("SHA1 (b.bin) = {}\nSHA256 (a.bin) = {ha}\n", &hb[..40]),
            true,
        ),
    ];
    for (i, (what, text, stricter)) in lists.into_iter().enumerate() {
        let list = dir.join(format!("list-{i:02}"));
        std::fs::write(&list, text).unwrap();
        let sig = dir.join(format!("list-{i:02}.sig"));
        Signify::sign_embedded(&sec, &list, &sig);
        scenarios.push(Scenario {
            name: format!("list: {what}"),
            sig,
            on_disk: genuine.clone(),
            named: vec!["a.bin".into()],
            stricter,
        });
    }

    let mut failures = Vec::new();
    let mut verdicts = 0;
    let mut stricter = 0;
    for (n, s) in scenarios.iter().enumerate() {
        let sdir = dir.join(format!("scenario-{n:02}"));
        std::fs::create_dir(&sdir).unwrap();
        for (name, bytes) in &s.on_disk {
            std::fs::write(sdir.join(name), bytes).unwrap();
        }
        let mut args = strings(["-C", "-p", &p(&key), "-x", &p(&s.sig)]);
        args.extend(s.named.iter().cloned());
        let r = run("signify-openbsd", &args, &sdir, None);
        let mut ours_args = strings(["verify", "--key", &p(&key), "--sig", &p(&s.sig)]);
        ours_args.extend(s.named.iter().cloned());
        let o = ours(&ours_args, &sdir);
        let rv = signify_c_verdicts(&r.text);
        let mut ov = our_verdicts(&o.text);
        // mirrorproof refuses a list it cannot read as a whole (one FAILED line for the
        // signature file): every named file fails with it.
        if ov.iter().any(|(what, _)| *what == p(&s.sig)) {
            ov = s.named.iter().map(|n| (n.clone(), false)).collect();
            ov.sort();
        }
        // signify stops at the first list line it cannot use; it may have passed files
        // before that, but its overall answer is a failure.
        let list_refused = ["unable to parse", "can't handle", "invalid base64"]
            .iter()
            .any(|m| r.text.contains(m));
        let list_ok = r.text.contains("Signature Verified") && !list_refused;
        let mut problems = Vec::new();
        if !matches!(o.code, Some(0 | 1)) || o.text.contains("panicked") {
            problems.push(format!("mirrorproof exit {:?}", o.code));
        }
        if s.stricter {
            if !r.accepted() || rv.iter().any(|(_, ok)| !ok) {
                problems.push("signify -C should pass every named file".into());
            }
            if o.code != Some(1) {
                problems.push("mirrorproof should refuse (exit 1)".into());
            }
            if problems.is_empty() {
                stricter += 1;
            }
        } else {
            if r.accepted() != o.accepted() {
                problems.push("overall verdicts differ".to_owned());
            }
            if list_ok {
                verdicts += rv.len();
                if rv != ov {
                    problems.push(format!("per-file verdicts differ: {rv:?} vs {ov:?}"));
                }
            } else if ov.iter().any(|(_, ok)| *ok) {
                problems.push("signify refused the list, yet mirrorproof passed a file".into());
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    signify exit {:?}: {}\n    mirrorproof exit {:?}: {}",
                s.name,
                problems.join("; "),
                r.code,
                excerpt(&r.text),
                o.code,
                excerpt(&o.text)
            ));
        }
    }
    println!(
        "differential signify -C: {} scenarios, {} agreed with signify-openbsd ({verdicts} per-file verdicts compared), {stricter} stricter (mirrorproof refuses a list signify -C passes), {} failed",
        scenarios.len(),
        scenarios.len() - stricter - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(scenarios.len() >= 35 && verdicts >= 50 && stricter == 5);
}

// ---------------------------------------------------------------------------------------
// minisign
// ---------------------------------------------------------------------------------------

/// The Ed25519 seed in an unencrypted (`-W`) minisign secret key: `Ed`, kdf `\0\0`, `B2`,
/// salt(32), opslimit(8), memlimit(8), then keynum(8) and the 64-byte secret key.
fn minisign_seed(sec: &Path, public: &Path) -> SecretKey {
    let text = read(sec);
    let raw = b64d(text.lines().nth(1).unwrap());
    assert_eq!(raw.len(), 158);
    assert_eq!(
        &raw[2..4],
        b"\0\0",
        "expected an unencrypted (-W) secret key"
    );
    let seed: [u8; 32] = raw[62..94].try_into().unwrap();
    let sk = SecretKey::from_seed(&seed).unwrap();
    let pk = b64d(read(public).lines().nth(1).unwrap());
    assert_eq!(
        sk.public().to_hex(),
        hex::encode(&pk[10..42]),
        "secret key layout misread"
    );
    sk
}

fn minisign_case(
    c: &mut Corpus,
    name: impl Into<String>,
    expect: Expect,
    codes: &'static [i32],
    key: &Path,
    sig: &Path,
    msg: &Path,
) {
    detached_case(c, "minisign", name, expect, codes, key, sig, msg);
}

#[test]
fn minisign_matches_minisign() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Minisign::keygen(dir, "k");
    let (other_key, other_sec) = Minisign::keygen(dir, "other");
    let sk = minisign_seed(&sec, &key);
    let key_text = read(&key);
    let key_id = b64d(key_text.lines().nth(1).unwrap())[2..10].to_vec();
    let msg_bytes = message(1000, 11);

    let mut c = Corpus::new("minisign", "minisign", dir);
    for legacy in [false, true] {
        let alg = if legacy { "legacy Ed" } else { "prehashed ED" };
        let msg = dir.join(if legacy {
            "legacy.bin"
        } else {
            "prehashed.bin"
        });
        std::fs::write(&msg, &msg_bytes).unwrap();
        let trusted = format!("timestamp:1700000000\tfile:{}", msg.display());
        let sig_path = Minisign::sign(&sec, &msg, legacy, &trusted);
        let sig = read(&sig_path);
        let other_msg = dir.join(format!("other-{}", msg.file_name().unwrap().display()));
        std::fs::write(&other_msg, &msg_bytes).unwrap();
        let other_sig_path = Minisign::sign(&other_sec, &other_msg, legacy, &trusted);
        let other_sig = read(&other_sig_path);

        let sig_case = |c: &mut Corpus, name: String, expect: Expect, s: &str| {
            let f = c.file("minisig", s);
            minisign_case(c, format!("{alg}: {name}"), expect, FAIL, &key, &f, &msg);
        };
        sig_case(&mut c, "genuine".into(), Expect::Accept, &sig);
        sig_case(
            &mut c,
            "untrusted comment changed".into(),
            Expect::Accept,
            &replace_line(&sig, 0, "untrusted comment: something else"),
        );
        sig_case(
            &mut c,
            "CRLF line endings".into(),
            Expect::Accept,
            &sig.replace('\n', "\r\n"),
        );
        sig_case(
            &mut c,
            "no final newline".into(),
            Expect::Accept,
            &sig[..sig.len() - 1],
        );

        // The trusted comment, which the global signature covers.
        for (what, tc) in [
            ("one character changed", trusted.replacen("1700", "1800", 1)),
            ("character appended", format!("{trusted}x")),
            ("trailing space", format!("{trusted} ")),
            (
                "last character dropped",
                trusted[..trusted.len() - 1].to_owned(),
            ),
            ("emptied", String::new()),
            ("replaced", "timestamp:1\tfile:evil".to_owned()),
        ] {
            sig_case(
                &mut c,
                format!("trusted comment {what}"),
                Expect::Reject,
                &replace_line(&sig, 2, &format!("trusted comment: {tc}")),
            );
        }

        // Every byte of the decoded signature line (alg, key id, signature) and of the
        // global signature.
        for pos in 0..74 {
            sig_case(
                &mut c,
                format!("signature byte {pos} ^ 0x01"),
                Expect::Reject,
                &edit_b64_line(&sig, 1, |raw| raw[pos] ^= 0x01),
            );
        }
        sig_case(
            &mut c,
            "algorithm switched between Ed and ED".into(),
            Expect::Reject,
            &edit_b64_line(&sig, 1, |raw| raw[1] ^= 0x20),
        );
        for pos in 0..64 {
            sig_case(
                &mut c,
                format!("global signature byte {pos} ^ 0x01"),
                Expect::Reject,
                &edit_b64_line(&sig, 3, |raw| raw[pos] ^= 0x01),
            );
        }

        // The message.
        for pos in spread(msg_bytes.len()) {
            let m = c.file("msg", flipped(&msg_bytes, pos, 0x01));
            minisign_case(
                &mut c,
                format!("{alg}: message byte {pos} ^ 0x01"),
                Expect::Reject,
                FAIL,
                &key,
                &sig_path,
                &m,
            );
        }
        let mut longer = msg_bytes.clone();
        longer.push(0);
        for (what, bytes) in [
            ("message extended", longer),
            (
                "message truncated",
                msg_bytes[..msg_bytes.len() - 1].to_vec(),
            ),
            ("empty message", Vec::new()),
        ] {
            let m = c.file("msg", bytes);
            minisign_case(
                &mut c,
                format!("{alg}: {what}"),
                Expect::Reject,
                FAIL,
                &key,
                &sig_path,
                &m,
            );
        }

        // Wrong key: by key id, and with the key id forged.
        sig_case(
            &mut c,
            "signed by another key".into(),
            Expect::Reject,
            &other_sig,
        );
        sig_case(
            &mut c,
            "signed by another key, key id forged".into(),
            Expect::Reject,
            &edit_b64_line(&other_sig, 1, |raw| raw[2..10].copy_from_slice(&key_id)),
        );
        let f = c.file("minisig", &sig);
        minisign_case(
            &mut c,
            format!("{alg}: verified with another public key"),
            Expect::Reject,
            FAIL,
            &other_key,
            &f,
            &msg,
        );

        // S + L. On the file signature, with the global signature re-made over the new
        // bytes (so only the non-canonical S is wrong); on the file signature alone; on
        // the global signature. libsodium refuses every one: no difference to record.
        let mut s_plus_l = b64d(sig.lines().nth(1).unwrap());
        add_l(&mut s_plus_l[42..74]);
        let mut global_msg = s_plus_l[10..74].to_vec();
        global_msg.extend_from_slice(trusted.as_bytes());
        let global = sk.sign(&global_msg);
        let resigned = replace_line(
            &replace_line(&sig, 1, &STANDARD.encode(&s_plus_l)),
            3,
            &STANDARD.encode(global),
        );
        sig_case(
            &mut c,
            "S + L on the signature, global signature re-made".into(),
            Expect::Reject,
            &resigned,
        );
        sig_case(
            &mut c,
            "S + L on the signature".into(),
            Expect::Reject,
            &edit_b64_line(&sig, 1, |raw| add_l(&mut raw[42..74])),
        );
        sig_case(
            &mut c,
            "S + L on the global signature".into(),
            Expect::Reject,
            &edit_b64_line(&sig, 3, |raw| add_l(&mut raw[32..64])),
        );
        // Sanity check of the re-signing: the global signature made here over the
        // genuine signature is accepted by minisign.
        let mut genuine_global = b64d(sig.lines().nth(1).unwrap())[10..74].to_vec();
        genuine_global.extend_from_slice(trusted.as_bytes());
        sig_case(
            &mut c,
            "global signature re-made over the genuine signature".into(),
            Expect::Accept,
            &replace_line(&sig, 3, &STANDARD.encode(sk.sign(&genuine_global))),
        );

        // What minisign ignores after the fourth line.
        sig_case(
            &mut c,
            "trailing garbage after the four lines".into(),
            Expect::Stricter,
            &format!("{sig}garbage\n"),
        );
        sig_case(
            &mut c,
            "an extra empty line at the end".into(),
            Expect::Stricter,
            &format!("{sig}\n"),
        );
        // Truncations.
        let nls: Vec<usize> = sig.match_indices('\n').map(|(i, _)| i).collect();
        for len in [
            0,
            nls[0],
            nls[0] + 1,
            nls[1] + 1,
            nls[2],
            nls[2] + 1,
            nls[2] + 40,
        ] {
            sig_case(
                &mut c,
                format!("signature file truncated to {len} bytes"),
                Expect::Reject,
                &sig[..len],
            );
        }
    }

    // The public key (checked against the prehashed signature).
    let msg = dir.join("prehashed.bin");
    let sig_path = dir.join("prehashed.bin.minisig");
    for pos in 0..42 {
        let k = c.file("pub", edit_b64_line(&key_text, 1, |raw| raw[pos] ^= 0x01));
        minisign_case(
            &mut c,
            format!("public key byte {pos} ^ 0x01"),
            Expect::Reject,
            FAIL_OR_BAD_KEY,
            &k,
            &sig_path,
            &msg,
        );
    }
    for (name, k) in [
        ("public key with CRLF", key_text.replace('\n', "\r\n")),
        (
            "public key without its final newline",
            key_text[..key_text.len() - 1].to_owned(),
        ),
        (
            "public key with another untrusted comment",
            replace_line(&key_text, 0, "untrusted comment: our release key"),
        ),
    ] {
        let k = c.file("pub", k);
        minisign_case(&mut c, name, Expect::Accept, FAIL, &k, &sig_path, &msg);
    }
    for (name, k) in [
        (
            "public key comment names another key id",
            replace_line(
                &key_text,
                0,
                "untrusted comment: minisign public key 0123456789ABCDEF",
            ),
        ),
        ("junk after the public key", format!("{key_text}junk\n")),
    ] {
        let k = c.file("pub", k);
        minisign_case(&mut c, name, Expect::Stricter, BAD_KEY, &k, &sig_path, &msg);
    }
    // A bare base64 key in a file is what `minisign -P` takes on the command line.
    let bare = key_text.lines().nth(1).unwrap().to_owned();
    let k = c.file("pub", format!("{bare}\n"));
    let args = strings(["-V", "-P", &bare, "-x", &p(&sig_path), "-m", &p(&msg)]);
    c.add(
        "bare base64 public key (minisign -P)",
        Expect::Accept,
        FAIL,
        Box::new(move |cwd| run("minisign", &args, cwd, None)),
        verify_args(&k, &sig_path, &[], &[&msg]),
    );

    let t = c.judge();
    assert!(t.cases >= 300, "{t:?}");
}

// ---------------------------------------------------------------------------------------
// OpenSSH signatures
// ---------------------------------------------------------------------------------------

const ALICE: &str = "alice@example.org";
const NS: &str = "file";

/// The base64 blob inside an armoured SSH signature.
fn ssh_blob(armored: &str) -> Vec<u8> {
    let b64: String = armored
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    b64d(&b64)
}

/// Armours a blob as ssh-keygen does, `width` base64 characters a line (it uses 70).
fn ssh_armor(blob: &[u8], width: usize) -> String {
    let b64 = STANDARD.encode(blob);
    let mut s = String::from("-----BEGIN SSH SIGNATURE-----\n");
    for chunk in b64.as_bytes().chunks(width) {
        s.push_str(std::str::from_utf8(chunk).unwrap());
        s.push('\n');
    }
    s.push_str("-----END SSH SIGNATURE-----\n");
    s
}

/// The fields of an SSHSIG blob after `SSHSIG` and the version: public key, namespace,
/// reserved, hash algorithm, signature.
fn ssh_fields(blob: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(&blob[..6], b"SSHSIG");
    let mut fields = Vec::new();
    let mut at = 10;
    while at < blob.len() {
        let n = u32::from_be_bytes(blob[at..at + 4].try_into().unwrap()) as usize;
        fields.push(blob[at + 4..at + 4 + n].to_vec());
        at += 4 + n;
    }
    assert_eq!(fields.len(), 5);
    fields
}

fn ssh_build(version: u32, fields: &[Vec<u8>]) -> Vec<u8> {
    let mut b = b"SSHSIG".to_vec();
    b.extend_from_slice(&version.to_be_bytes());
    for f in fields {
        b.extend_from_slice(&(f.len() as u32).to_be_bytes());
        b.extend_from_slice(f);
    }
    b
}

/// The `keytype base64` part of a `.pub` line.
fn key_part(pub_line: &str) -> String {
    pub_line
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `ssh-keygen -Y verify -f ALLOWED -I ID -n NS -s SIG < MSG` against
/// `mirrorproof verify --key ALLOWED --sig SIG --identity ID --namespace NS MSG`.
#[allow(clippy::too_many_arguments)]
fn ssh_case(
    c: &mut Corpus,
    name: impl Into<String>,
    expect: Expect,
    codes: &'static [i32],
    allowed: &Path,
    identity: &str,
    namespace: &str,
    sig: &Path,
    msg: &Path,
) {
    let args = strings([
        "-Y",
        "verify",
        "-f",
        &p(allowed),
        "-I",
        identity,
        "-n",
        namespace,
        "-s",
        &p(sig),
    ]);
    let stdin = msg.to_owned();
    c.add(
        name,
        expect,
        codes,
        Box::new(move |cwd| run("ssh-keygen", &args, cwd, Some(&stdin))),
        verify_args(
            allowed,
            sig,
            &["--identity", identity, "--namespace", namespace],
            &[msg],
        ),
    );
}

/// Without a fixed identity: ssh-keygen's `-Y find-principals` names the principal, then
/// `-Y verify` checks as that principal (what `git` and scripts do); mirrorproof is run
/// without `--identity`.
fn ssh_case_any_principal(
    c: &mut Corpus,
    name: impl Into<String>,
    expect: Expect,
    allowed: &Path,
    sig: &Path,
    msg: &Path,
) {
    let (allowed_s, sig_s) = (p(allowed), p(sig));
    let stdin = msg.to_owned();
    c.add(
        name,
        expect,
        FAIL,
        Box::new(move |cwd| {
            let found = run(
                "ssh-keygen",
                &strings(["-Y", "find-principals", "-f", &allowed_s, "-s", &sig_s]),
                cwd,
                None,
            );
            if !found.accepted() {
                return found;
            }
            let principal = found.text.lines().next().unwrap_or("").trim().to_owned();
            run(
                "ssh-keygen",
                &strings([
                    "-Y", "verify", "-f", &allowed_s, "-I", &principal, "-n", NS, "-s", &sig_s,
                ]),
                cwd,
                Some(&stdin),
            )
        }),
        verify_args(allowed, sig, &["--namespace", NS], &[msg]),
    );
}

/// Signs `msg` with ssh-keygen and moves the signature to `out`.
fn ssh_sign_to(key: &Path, namespace: &str, msg: &Path, extra: &[&str], out: &Path) {
    if extra.is_empty() {
        let sig = Ssh::sign(key, namespace, msg);
        std::fs::rename(sig, out).unwrap();
    } else {
        let mut args = vec!["-q", "-Y", "sign"];
        args.extend_from_slice(extra);
        let (k, m) = (p(key), p(msg));
        args.extend(["-f", &k, "-n", namespace, &m]);
        tool("ssh-keygen", &args, Path::new("/"));
        std::fs::rename(format!("{m}.sig"), out).unwrap();
    }
}

#[test]
fn sshsig_matches_ssh_keygen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (alice_key, alice_pub) = Ssh::keygen(dir, "alice");
    let (bob_key, bob_pub) = Ssh::keygen(dir, "bob");
    let alice = key_part(&alice_pub);
    let bob = key_part(&bob_pub);
    let msg_bytes = message(2000, 21);
    let msg = dir.join("release.zip");
    std::fs::write(&msg, &msg_bytes).unwrap();

    let sig512 = dir.join("sha512.sig");
    ssh_sign_to(&alice_key, NS, &msg, &[], &sig512);
    let mut sigs = vec![("sha512", sig512.clone())];
    let sig256 = dir.join("sha256.sig");
    // `-O hashalg=` exists since OpenSSH 8.9; use it where the installed ssh-keygen has it.
    let probe = dir.join("probe");
    std::fs::write(&probe, b"probe").unwrap();
    if tool_accepts(
        "ssh-keygen",
        &[
            "-q",
            "-Y",
            "sign",
            "-O",
            "hashalg=sha256",
            "-f",
            &p(&alice_key),
            "-n",
            NS,
            &p(&probe),
        ],
        dir,
    ) {
        ssh_sign_to(&alice_key, NS, &msg, &["-O", "hashalg=sha256"], &sig256);
        sigs.push(("sha256", sig256.clone()));
    } else {
        println!("ssh-keygen has no -O hashalg=sha256: those cases are skipped");
    }
    let bob_sig = dir.join("bob.sig");
    ssh_sign_to(&bob_key, NS, &msg, &[], &bob_sig);
    let git_sig = dir.join("git-namespace.sig");
    ssh_sign_to(&alice_key, "git", &msg, &[], &git_sig);

    let mut c = Corpus::new("sshsig", "ssh-keygen", dir);
    let allowed_alice = c.file("allowed", format!("{ALICE} {alice}\n"));

    for (hash, sig_path) in &sigs {
        let sig = read(sig_path);
        let blob = ssh_blob(&sig);
        let fields = ssh_fields(&blob);
        assert_eq!(fields[3], hash.as_bytes());
        let case = |c: &mut Corpus,
                    name: String,
                    expect: Expect,
                    allowed: &Path,
                    id: &str,
                    ns: &str,
                    s: &Path,
                    m: &Path| {
            ssh_case(
                c,
                format!("{hash}: {name}"),
                expect,
                FAIL,
                allowed,
                id,
                ns,
                s,
                m,
            );
        };
        case(
            &mut c,
            "genuine".into(),
            Expect::Accept,
            &allowed_alice,
            ALICE,
            NS,
            sig_path,
            &msg,
        );
        case(
            &mut c,
            "wrong namespace".into(),
            Expect::Reject,
            &allowed_alice,
            ALICE,
            "git",
            sig_path,
            &msg,
        );
        for id in [
            "bob@example.org",
            "ALICE@example.org",
            "alice@example.or",
            "",
            " alice@example.org",
            "alice@example.org ",
            "*@example.org",
            "alice@example.org,bob@example.org",
        ] {
            case(
                &mut c,
                format!("wrong identity {id:?}"),
                Expect::Reject,
                &allowed_alice,
                id,
                NS,
                sig_path,
                &msg,
            );
        }

        // Principal patterns.
        let wildcard = c.file("allowed", format!("*@example.org {alice}\n"));
        for (id, expect) in [
            (ALICE, Expect::Accept),
            ("carol@example.org", Expect::Accept),
            ("alice@example.com", Expect::Reject),
            ("example.org", Expect::Reject),
            ("alice@sub.example.org", Expect::Reject),
            ("@example.org", Expect::Accept),
            ("*@example.org", Expect::Accept),
        ] {
            case(
                &mut c,
                format!("principal pattern *@example.org, identity {id}"),
                expect,
                &wildcard,
                id,
                NS,
                sig_path,
                &msg,
            );
        }
        let negated = c.file(
            "allowed",
            format!("!mallory@example.org,*@example.org {alice}\n"),
        );
        for (id, expect) in [
            ("mallory@example.org", Expect::Reject),
            ("carol@example.org", Expect::Accept),
        ] {
            case(
                &mut c,
                format!("negated pattern, identity {id}"),
                expect,
                &negated,
                id,
                NS,
                sig_path,
                &msg,
            );
        }
        let listed = c.file(
            "allowed",
            format!("bob@example.org {bob}\n\"{ALICE},alice@example.net\" {alice}\n"),
        );
        for (id, expect) in [
            (ALICE, Expect::Accept),
            ("alice@example.net", Expect::Accept),
            ("bob@example.org", Expect::Reject),
        ] {
            case(
                &mut c,
                format!("two signers, identity {id}"),
                expect,
                &listed,
                id,
                NS,
                sig_path,
                &msg,
            );
        }

        // namespaces="..." restrictions.
        for (opt, expect) in [
            ("namespaces=\"file\"", Expect::Accept),
            ("namespaces=\"git\"", Expect::Reject),
            ("namespaces=\"git,file\"", Expect::Accept),
            ("namespaces=\"f*\"", Expect::Accept),
            ("namespaces=\"!file,*\"", Expect::Reject),
            ("NAMESPACES=\"file\"", Expect::Accept),
        ] {
            let a = c.file("allowed", format!("{ALICE} {opt} {alice}\n"));
            case(
                &mut c,
                format!("option {opt}"),
                expect,
                &a,
                ALICE,
                NS,
                sig_path,
                &msg,
            );
        }
        // Validity windows (with the Z suffix both read as UTC).
        for (opt, expect) in [
            ("valid-after=\"20200101Z\"", Expect::Accept),
            ("valid-before=\"20200101Z\"", Expect::Reject),
            ("valid-after=\"29990101Z\"", Expect::Reject),
            (
                "valid-after=\"20200101Z\",valid-before=\"29990101Z\"",
                Expect::Accept,
            ),
        ] {
            let a = c.file("allowed", format!("{ALICE} {opt} {alice}\n"));
            case(
                &mut c,
                format!("option {opt}"),
                expect,
                &a,
                ALICE,
                NS,
                sig_path,
                &msg,
            );
        }

        // The message.
        for pos in spread(msg_bytes.len()) {
            let m = c.file("msg", flipped(&msg_bytes, pos, 0x01));
            case(
                &mut c,
                format!("message byte {pos} ^ 0x01"),
                Expect::Reject,
                &allowed_alice,
                ALICE,
                NS,
                sig_path,
                &m,
            );
        }
        let mut longer = msg_bytes.clone();
        longer.push(b'\n');
        for (what, bytes) in [
            ("message extended", longer),
            (
                "message truncated",
                msg_bytes[..msg_bytes.len() - 1].to_vec(),
            ),
            ("empty message", Vec::new()),
        ] {
            let m = c.file("msg", bytes);
            case(
                &mut c,
                what.into(),
                Expect::Reject,
                &allowed_alice,
                ALICE,
                NS,
                sig_path,
                &m,
            );
        }

        // Every byte of the blob. Byte 9 is the low byte of the version: ssh-keygen accepts
        // any version up to 1, so version 0 passes there; mirrorproof wants exactly 1.
        for pos in 0..blob.len() {
            let s = c.file("sig", ssh_armor(&flipped(&blob, pos, 0x01), 70));
            let expect = if pos == 9 {
                Expect::Stricter
            } else {
                Expect::Reject
            };
            case(
                &mut c,
                format!("blob byte {pos} ^ 0x01"),
                expect,
                &allowed_alice,
                ALICE,
                NS,
                &s,
                &msg,
            );
        }
        for pos in [blob.len() - 64, blob.len() - 33, blob.len() - 1] {
            let s = c.file("sig", ssh_armor(&flipped(&blob, pos, 0x80), 70));
            case(
                &mut c,
                format!("blob byte {pos} ^ 0x80"),
                Expect::Reject,
                &allowed_alice,
                ALICE,
                NS,
                &s,
                &msg,
            );
        }

        // Structure both refuse.
        let mut trailing_in_sig = fields.clone();
        trailing_in_sig[4].push(0);
        let mut trailing_in_key = fields.clone();
        trailing_in_key[0].push(0);
        let mut empty_ns = fields.clone();
        empty_ns[1].clear();
        let mut sha1 = fields.clone();
        sha1[3] = b"sha1".to_vec();
        for (what, b) in [
            (
                "trailing bytes after the blob",
                [blob.clone(), vec![0]].concat(),
            ),
            (
                "trailing bytes in the signature field",
                ssh_build(1, &trailing_in_sig),
            ),
            (
                "trailing bytes in the public key field",
                ssh_build(1, &trailing_in_key),
            ),
            ("empty namespace", ssh_build(1, &empty_ns)),
            ("hash algorithm sha1", ssh_build(1, &sha1)),
            ("version 2", ssh_build(2, &fields)),
            (
                "blob truncated by one byte",
                blob[..blob.len() - 1].to_vec(),
            ),
            ("blob truncated to half", blob[..blob.len() / 2].to_vec()),
        ] {
            let s = c.file("sig", ssh_armor(&b, 70));
            case(
                &mut c,
                what.into(),
                Expect::Reject,
                &allowed_alice,
                ALICE,
                NS,
                &s,
                &msg,
            );
        }
        for (what, text) in [
            ("CRLF armour", sig.replace('\n', "\r\n")),
            (
                "armour without its END line",
                sig.replace("-----END SSH SIGNATURE-----\n", ""),
            ),
            ("empty signature file", String::new()),
        ] {
            let s = c.file("sig", text);
            case(
                &mut c,
                what.into(),
                Expect::Reject,
                &allowed_alice,
                ALICE,
                NS,
                &s,
                &msg,
            );
        }
        // Other line widths of the same blob: both accept.
        for width in [76, 64, 4, 1000] {
            let s = c.file("sig", ssh_armor(&blob, width));
            case(
                &mut c,
                format!("armour re-wrapped at {width}"),
                Expect::Accept,
                &allowed_alice,
                ALICE,
                NS,
                &s,
                &msg,
            );
        }

        // Deliberately stricter.
        let mut s_plus_l = blob.clone();
        let n = s_plus_l.len();
        add_l(&mut s_plus_l[n - 32..]);
        let mut reserved = fields.clone();
        reserved[2] = b"x".to_vec();
        for (what, text) in [
            ("S + L (non-canonical S)", ssh_armor(&s_plus_l, 70)),
            (
                "reserved field not empty",
                ssh_armor(&ssh_build(1, &reserved), 70),
            ),
            ("version 0", ssh_armor(&ssh_build(0, &fields), 70)),
            ("data after the END line", format!("{sig}garbage\n")),
            ("an empty line after the END line", format!("{sig}\n")),
        ] {
            let s = c.file("sig", text);
            case(
                &mut c,
                what.into(),
                Expect::Stricter,
                &allowed_alice,
                ALICE,
                NS,
                &s,
                &msg,
            );
        }
    }

    // Wrong keys and namespaces of the signature itself.
    let allowed_both = c.file(
        "allowed",
        format!("{ALICE} {alice}\nbob@example.org {bob}\n"),
    );
    for (what, allowed, id, expect) in [
        (
            "signed by a key not in allowed_signers",
            &allowed_alice,
            ALICE,
            Expect::Reject,
        ),
        (
            "signed by bob, verified as alice",
            &allowed_both,
            ALICE,
            Expect::Reject,
        ),
        (
            "signed by bob, verified as bob",
            &allowed_both,
            "bob@example.org",
            Expect::Accept,
        ),
    ] {
        ssh_case(&mut c, what, expect, FAIL, allowed, id, NS, &bob_sig, &msg);
    }
    ssh_case(
        &mut c,
        "signed for namespace git, verified for file",
        Expect::Reject,
        FAIL,
        &allowed_alice,
        ALICE,
        NS,
        &git_sig,
        &msg,
    );

    // No --identity: the principal comes from allowed_signers.
    let restricted = c.file("allowed", format!("{ALICE} namespaces=\"git\" {alice}\n"));
    let wildcard_any = c.file("allowed", format!("*@example.org {alice}\n"));
    for (what, allowed, sig, expect) in [
        (
            "any principal: genuine",
            &allowed_alice,
            &sig512,
            Expect::Accept,
        ),
        (
            "any principal: bob's signature",
            &allowed_alice,
            &bob_sig,
            Expect::Reject,
        ),
        (
            "any principal: bob's signature, both listed",
            &allowed_both,
            &bob_sig,
            Expect::Accept,
        ),
        (
            "any principal: line restricted to git",
            &restricted,
            &sig512,
            Expect::Reject,
        ),
        (
            "any principal: git-namespace signature",
            &allowed_alice,
            &git_sig,
            Expect::Reject,
        ),
        (
            "any principal: wildcard principal line",
            &wildcard_any,
            &sig512,
            Expect::Accept,
        ),
    ] {
        ssh_case_any_principal(&mut c, what, expect, allowed, sig, &msg);
    }

    // allowed_signers files that ssh-keygen reads leniently and mirrorproof refuses as
    // configuration errors (exit 2): a line it cannot parse (ssh-keygen skips it), a time
    // without Z (ssh-keygen reads it in the local time zone).
    for (what, text) in [
        (
            "allowed_signers with a malformed line before the good one",
            format!("this line is not a signer\n{ALICE} {alice}\n"),
        ),
        (
            "valid-after without the Z suffix",
            format!("{ALICE} valid-after=\"20200101\" {alice}\n"),
        ),
    ] {
        let a = c.file("allowed", text);
        ssh_case(
            &mut c,
            what,
            Expect::Stricter,
            BAD_KEY,
            &a,
            ALICE,
            NS,
            &sig512,
            &msg,
        );
    }
    // Only plain Ed25519 keys: an ECDSA signature that ssh-keygen accepts is refused.
    let (ecdsa_key, ecdsa_pub) = {
        let k = dir.join("ecdsa");
        tool(
            "ssh-keygen",
            &["-q", "-t", "ecdsa", "-N", "", "-C", "ecdsa", "-f", &p(&k)],
            dir,
        );
        let line = read(&dir.join("ecdsa.pub"));
        (k, key_part(&line))
    };
    let ecdsa_sig = dir.join("ecdsa.sig");
    ssh_sign_to(&ecdsa_key, NS, &msg, &[], &ecdsa_sig);
    let mixed = c.file(
        "allowed",
        format!("{ALICE} {ecdsa_pub}\nbob@example.org {bob}\n"),
    );
    ssh_case(
        &mut c,
        "ECDSA signature from an allowed ECDSA key",
        Expect::Stricter,
        FAIL,
        &mixed,
        ALICE,
        NS,
        &ecdsa_sig,
        &msg,
    );

    let t = c.judge();
    assert!(t.cases >= 200, "{t:?}");
}

// ---------------------------------------------------------------------------------------
// Signed notes
// ---------------------------------------------------------------------------------------

// Copied from the tests in src/schemes/note.rs, which took them from golang.org/x/mod
// sumdb/note/note_test.go (TestNewVerifier, TestSign, TestOpen) and the package
// documentation.
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// A real tree head from https://sum.golang.org/latest, 2024-09-23, as quoted in
// keys/README.md from sigsum/sigsum-go pkg/checkpoint/checkpoint_test.go.
const SUMDB_CHECKPOINT: &str = "go.sum database tree\n30055305\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n\n\
                                — sum.golang.org Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+2TyGKevucFcAAlWFJJYle3EJlDCrQ+y3A8=\n";

/// Re-encodes the base64 of the first signature line of a note after `f` changed it.
fn mangle_note_sig(note: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let (text, sigs) = note.split_once("\n\n").unwrap();
    let mut lines: Vec<String> = sigs.lines().map(str::to_owned).collect();
    let (prefix, b64) = lines[0].rsplit_once(' ').unwrap();
    let mut raw = b64d(b64);
    f(&mut raw);
    lines[0] = format!("{prefix} {}", STANDARD.encode(&raw));
    format!("{text}\n\n{}\n", lines.join("\n"))
}

#[test]
fn notes_verify_go_vectors_and_a_real_sum_golang_org_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sumdb_vkey = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/sum.golang.org.vkey");
    let go_keys = dir.join("go.vkeys");
    std::fs::write(&go_keys, format!("{PETER_VKEY}\n{ENOCH_VKEY}\n")).unwrap();
    let peter = dir.join("peter.vkey");
    std::fs::write(&peter, format!("{PETER_VKEY}\n")).unwrap();
    let go_note = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");

    let mut n = 0;
    let mut check = |key: &Path, note: &str, want: i32, what: &str| {
        n += 1;
        let f = dir.join(format!("note-{n:03}.txt"));
        std::fs::write(&f, note).unwrap();
        let o = ours(&verify_args(key, &f, &[], &[]), dir);
        assert_eq!(
            o.code,
            Some(want),
            "note case {what:?}: want exit {want}\n{note}\n{}",
            o.text
        );
        assert!(!o.text.contains("panicked"), "{}", o.text);
        o.text
    };

    // Genuine.
    let out = check(
        &sumdb_vkey,
        SUMDB_CHECKPOINT,
        0,
        "real sum.golang.org checkpoint",
    );
    assert!(out.contains("tree size 30055305"), "{out}");
    assert!(out.contains("sum.golang.org"), "{out}");
    check(&go_keys, &go_note, 0, "Go vector: Peter and Enoch");
    check(
        &peter,
        &format!("{GO_TEXT}\n{PETER_SIG}"),
        0,
        "Go vector: Peter alone",
    );
    check(
        &peter,
        &go_note,
        0,
        "Go vector: Enoch's line unknown to Peter's key",
    );

    // Tampered checkpoint: every one must fail verification (exit 1).
    let cp = SUMDB_CHECKPOINT;
    let mut tampered: Vec<(String, String)> = vec![
        (
            "tree size + 1".into(),
            cp.replacen("30055305", "30055306", 1),
        ),
        (
            "tree size - 1".into(),
            cp.replacen("30055305", "30055304", 1),
        ),
        (
            "root hash changed".into(),
            cp.replacen("mXfgRcJ0", "mXfgRcJ1", 1),
        ),
        (
            "origin changed".into(),
            cp.replacen("go.sum database tree", "go.sum database tre", 1),
        ),
        (
            "signer name changed".into(),
            cp.replacen("— sum.golang.org ", "— sum.golang.com ", 1),
        ),
        (
            "blank line before the signatures removed".into(),
            cp.replacen("=\n\n—", "=\n—", 1),
        ),
        (
            "text line appended".into(),
            cp.replacen("=\n\n—", "=\nextra\n\n—", 1),
        ),
        (
            "signature line removed".into(),
            cp.split("\n\n").next().unwrap().to_owned() + "\n\n",
        ),
        ("CRLF line endings".into(), cp.replace('\n', "\r\n")),
        (
            "final newline removed".into(),
            cp[..cp.len() - 1].to_owned(),
        ),
        (
            "em dash replaced by a hyphen".into(),
            cp.replacen("— ", "- ", 1),
        ),
    ];
    // Key hash bytes (0..4) and signature bytes (4..68).
    for pos in [0, 3, 4, 5, 20, 35, 36, 50, 67] {
        tampered.push((
            format!("signature line byte {pos} ^ 0x01"),
            mangle_note_sig(cp, |raw| raw[pos] ^= 0x01),
        ));
    }
    tampered.push((
        "S + L".into(),
        mangle_note_sig(cp, |raw| add_l(&mut raw[36..68])),
    ));
    for (what, note) in &tampered {
        assert_ne!(note, cp, "{what}: no change");
        check(&sumdb_vkey, note, 1, what);
    }

    // Tampered Go vectors.
    let go_tampered = [
        (
            "Go text changed",
            go_note.replacen("cryptography", "Cryptography", 1),
        ),
        (
            "Peter's signature flipped",
            format!(
                "{GO_TEXT}\n{}",
                mangle_note_sig(&format!("{GO_TEXT}\n{PETER_SIG}"), |raw| raw[10] ^= 1)
                    .split_once("\n\n")
                    .unwrap()
                    .1
            ),
        ),
        (
            "only Enoch signed, only Peter pinned",
            format!("{GO_TEXT}\n{ENOCH_SIG}"),
        ),
    ];
    for (what, note) in &go_tampered {
        let key = if what.starts_with("only") {
            &peter
        } else {
            &go_keys
        };
        check(key, note, 1, what);
    }
    println!(
        "differential note: {} cases (no reference tool in Debian: Go's vectors and a real sum.golang.org checkpoint), 4 genuine accepted, {} tampered refused",
        4 + tampered.len() + go_tampered.len(),
        tampered.len() + go_tampered.len()
    );
}

// ---------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------

#[test]
fn exit_codes_for_failures_and_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Signify::keygen(dir, "k");
    let msg = dir.join("msg.txt");
    std::fs::write(&msg, b"exit codes\n").unwrap();
    let sig = dir.join("msg.txt.signify");
    Signify::sign(&sec, &msg, &sig);
    let (ssh_key, ssh_pub) = Ssh::keygen(dir, "ssh");
    let allowed = dir.join("allowed_signers");
    std::fs::write(&allowed, format!("{ALICE} {}\n", key_part(&ssh_pub))).unwrap();
    let ssh_sig = dir.join("ssh.sig");
    ssh_sign_to(&ssh_key, NS, &msg, &[], &ssh_sig);

    let code = |args: Vec<String>, want: i32, what: &str| {
        let o = ours(&args, dir);
        assert_eq!(o.code, Some(want), "{what}: {args:?}\n{}", o.text);
        assert!(!o.text.contains("panicked"), "{what}: {}", o.text);
        o.text
    };

    // Success, then verification failures: 1, with a FAILED line.
    code(verify_args(&key, &sig, &[], &[&msg]), 0, "genuine signify");
    code(
        verify_args(
            &allowed,
            &ssh_sig,
            &["--identity", ALICE, "--namespace", NS],
            &[&msg],
        ),
        0,
        "genuine sshsig",
    );
    let changed = dir.join("changed.txt");
    std::fs::write(&changed, b"exit codez\n").unwrap();
    let out = code(
        verify_args(&key, &sig, &[], &[&changed]),
        1,
        "tampered message",
    );
    assert!(out.starts_with("FAILED  "), "{out}");
    let flipped_sig = dir.join("flipped.sig");
    std::fs::write(
        &flipped_sig,
        edit_b64_line(&read(&sig), 1, |raw| raw[40] ^= 1),
    )
    .unwrap();
    code(
        verify_args(&key, &flipped_sig, &[], &[&msg]),
        1,
        "tampered signature",
    );
    code(
        verify_args(
            &allowed,
            &ssh_sig,
            &["--identity", ALICE, "--namespace", "git"],
            &[&msg],
        ),
        1,
        "sshsig, wrong namespace",
    );
    code(
        verify_args(&key, &sig, &[], &[&msg, &changed]),
        1,
        "one of two files fails",
    );
    code(
        verify_args(&key, &sig, &[], &[&dir.join("absent.txt")]),
        1,
        "signed file missing",
    );

    // Usage and configuration errors: 2.
    let out = code(
        verify_args(&allowed, &ssh_sig, &["--identity", ALICE], &[&msg]),
        2,
        "sshsig without --namespace",
    );
    assert!(out.contains("namespace"), "{out}");
    code(
        verify_args(&dir.join("no-such.pub"), &sig, &[], &[&msg]),
        2,
        "unreadable key (missing file)",
    );
    code(
        verify_args(dir, &sig, &[], &[&msg]),
        2,
        "unreadable key (a directory)",
    );
    let garbage = dir.join("garbage.pub");
    std::fs::write(&garbage, b"this is not a key of any kind\n\x00\x01\x02").unwrap();
    code(
        verify_args(&garbage, &sig, &[], &[&msg]),
        2,
        "garbage key file",
    );
    let empty = dir.join("empty.pub");
    std::fs::write(&empty, b"").unwrap();
    code(verify_args(&empty, &sig, &[], &[&msg]), 2, "empty key file");
    code(
        verify_args(&sig, &sig, &[], &[&msg]),
        2,
        "signature given as the key",
    );
    code(
        verify_args(&key, &sig, &["--namespace", NS], &[&msg]),
        2,
        "--namespace with a signify key",
    );
    code(
        verify_args(&key, &sig, &[], &[]),
        2,
        "detached signature without a FILE",
    );
    code(
        strings(["verify", "--key", &p(&key), &p(&msg)]),
        2,
        "--key without --sig",
    );
}

// ---------------------------------------------------------------------------------------
// Documented differences and open findings
// ---------------------------------------------------------------------------------------

/// `signify -S -e` over an empty file writes exactly the bytes of a detached signature of
/// an empty file, so the file alone cannot say which it is. signify `-V -e` accepts it;
/// mirrorproof, given no FILE, reads it as detached and asks for the FILE (a usage error,
/// exit 2), and verifies it once the empty file is named. Recorded so that a change on
/// either side is noticed.
#[test]
fn signify_embedded_empty_message_needs_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Signify::keygen(dir, "k");
    let empty = dir.join("empty");
    std::fs::write(&empty, b"").unwrap();
    let sig = dir.join("empty.sig");
    Signify::sign_embedded(&sec, &empty, &sig);
    let out = dir.join("out");
    assert!(tool_accepts(
        "signify-openbsd",
        &["-V", "-e", "-p", &p(&key), "-x", &p(&sig), "-m", &p(&out)],
        dir,
    ));
    let o = ours(&verify_args(&key, &sig, &[], &[]), dir);
    assert_eq!(o.code, Some(2), "{}", o.text);
    assert!(o.text.contains("detached"), "{}", o.text);
    let o = ours(&verify_args(&key, &sig, &[], &[&empty]), dir);
    assert_eq!(o.code, Some(0), "{}", o.text);
}

/// `signify -C` looks a file up by the path exactly as given: `sub/a.bin` is not the
/// list's `a.bin`, and `./a.bin` is not either. mirrorproof does the same (it once fell
/// back to the file name, which this test caught).
#[test]
fn checksum_list_entries_match_by_exact_path_as_in_signify_c() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Signify::keygen(dir, "k");
    let bytes = message(100, 5);
    std::fs::write(
        dir.join("SHA256"),
        checksum_list(&[("a.bin", bytes.as_slice())]),
    )
    .unwrap();
    let sig = dir.join("SHA256.sig");
    Signify::sign_embedded(&sec, &dir.join("SHA256"), &sig);
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/a.bin"), &bytes).unwrap();
    for named in ["sub/a.bin", "./sub/a.bin"] {
        let r = run(
            "signify-openbsd",
            &strings(["-C", "-p", &p(&key), "-x", &p(&sig), named]),
            dir,
            None,
        );
        assert_eq!(r.code, Some(1), "signify -C {named}: {}", r.text);
        let o = ours(
            &strings(["verify", "--key", &p(&key), "--sig", &p(&sig), named]),
            dir,
        );
        assert_eq!(o.code, Some(1), "mirrorproof {named}: {}", o.text);
    }
}

/// Format confusion through the signature file. signify and minisign public keys have
/// the same layout, and when the key file's untrusted comment does not name minisign,
/// `pinned::detect` lets the signature file decide. A legacy (`Ed`) minisign signature
/// cut to its first two lines (trusted comment and global signature removed) then reads
/// as a signify signature over the same bytes and passes, where `minisign -V` refuses it
/// ("Trusted comment not present"). Whoever relies on the trusted comment (file name,
/// timestamp) would lose it without a failure. mirrorproof now refuses to guess: a key
/// whose comment names neither format needs `--format` (exit 2), and with
/// `--format minisign` the stripped file is refused as a minisign signature (exit 1).
#[test]
fn stripped_minisign_legacy_signature_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, sec) = Minisign::keygen(dir, "k");
    let custom = dir.join("custom.pub");
    std::fs::write(
        &custom,
        replace_line(&read(&key), 0, "untrusted comment: our release key"),
    )
    .unwrap();
    let msg = dir.join("release.tgz");
    std::fs::write(&msg, message(500, 9)).unwrap();
    let sig = Minisign::sign(&sec, &msg, true, "timestamp:1700000000\tfile:release.tgz");
    let text = read(&sig);
    let stripped = dir.join("stripped.minisig");
    let two_lines: String = text.split_inclusive('\n').take(2).collect();
    std::fs::write(&stripped, two_lines).unwrap();

    let r = run(
        "minisign",
        &strings(["-V", "-p", &p(&custom), "-x", &p(&stripped), "-m", &p(&msg)]),
        dir,
        None,
    );
    assert!(!r.accepted(), "minisign: {}", r.text);
    let o = ours(&verify_args(&custom, &stripped, &[], &[&msg]), dir);
    assert_eq!(o.code, Some(2), "{}", o.text);
    assert!(o.text.contains("--format"), "{}", o.text);
    let mut args = verify_args(&custom, &stripped, &[], &[&msg]);
    args.push("--format".into());
    args.push("minisign".into());
    let o = ours(&args, dir);
    assert_eq!(o.code, Some(1), "{}", o.text);
    // The intact signature still verifies under the same key with the format named.
    let mut args = verify_args(&custom, &sig, &[], &[&msg]);
    args.push("--format".into());
    args.push("minisign".into());
    let o = ours(&args, dir);
    assert_eq!(o.code, Some(0), "{}", o.text);
}
