//! Signed notes (c2sp.org/signed-note) and the transparency-log checkpoints they carry
//! (c2sp.org/tlog-checkpoint): the format of Go's checksum database, Sigstore and
//! witness cosigners, so a project that already publishes through a log needs no new
//! signing tool to be checked here.
//!
//! The behaviour follows `golang.org/x/mod/sumdb/note`, with these deliberate tightenings:
//! at most 16 signature lines (the spec's floor; Go allows 100), a pinned key that appears
//! twice is an error (Go silently keeps the first), base64 must be canonical, vkey hashes
//! must be lowercase hex, and only Ed25519 keys that pass `keys::PublicKey`'s strict
//! checks are accepted, verified with `verify_strict`.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{MAX_KEY_FILE_BYTES, SchemeError, strict_base64};
use crate::keys::{PublicKey, SecretKey};

/// Notes are tree heads and short statements; a megabyte is far beyond any real one and
/// small enough to check in memory.
pub const MAX_NOTE_BYTES: usize = 1024 * 1024;

/// The spec's required minimum, which is also our maximum: enough for a log key plus a
/// witness quorum, and it caps the Ed25519 work an attacker can make us do per note.
pub const MAX_SIGNATURE_LINES: usize = 16;

/// A vkey is a name, 8 hex digits and 44 base64 characters; names are URL-like and short.
const MAX_VKEY_BYTES: usize = 1024;

/// Signature type byte for Ed25519 in the key hash and the vkey (the only one we accept,
/// so that one pinned key means one verification rule).
const ALG_ED25519: u8 = 0x01;

/// Every signature line starts with an em dash and a space (not a hyphen: look-alikes
/// must not be accepted).
const SIG_PREFIX: &str = "\u{2014} ";

/// A pinned note key: `name+hash+base64(0x01 || key)`, already checked against its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub name: String,
    pub hash: u32,
    pub key: PublicKey,
}

impl Verifier {
    /// Parses a verifier key. The hash is recomputed rather than trusted, so a vkey whose
    /// hash was edited (or whose key was swapped) is refused instead of silently never
    /// matching a signature line.
    pub fn parse(vkey: &str) -> Result<Verifier, SchemeError> {
        let bad = |why: &str| SchemeError::Key(format!("note verifier key {}: {why}", quote(vkey)));
        if vkey.len() > MAX_VKEY_BYTES {
            return Err(bad(&format!("longer than {MAX_VKEY_BYTES} bytes")));
        }
        if vkey.chars().any(char::is_control) {
            return Err(bad("contains a control character"));
        }
        let (name, rest) = vkey
            .split_once('+')
            .ok_or_else(|| bad("expected name+hash+key"))?;
        let (hash_hex, key_b64) = rest
            .split_once('+')
            .ok_or_else(|| bad("expected name+hash+key"))?;
        check_name(name).map_err(&bad)?;
        let hash = parse_key_hash(hash_hex)
            .ok_or_else(|| bad("key hash is not 8 lowercase hex digits"))?;
        let raw = strict_base64(key_b64).ok_or_else(|| bad("key is not canonical base64"))?;
        let (&alg, key) = raw.split_first().ok_or_else(|| bad("key is empty"))?;
        if alg != ALG_ED25519 {
            return Err(bad(&format!(
                "unsupported signature algorithm 0x{alg:02x} (only 0x01, Ed25519, is supported)"
            )));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| bad(&format!("Ed25519 key is {} bytes, not 32", key.len())))?;
        let expected = key_hash(name, &key);
        if hash != expected {
            return Err(bad(&format!(
                "key hash {hash:08x} does not match the name and key (they hash to {expected:08x})"
            )));
        }
        let key = PublicKey::from_bytes(&key).map_err(|e| bad(&e.to_string()))?;
        Ok(Verifier {
            name: name.to_owned(),
            hash,
            key,
        })
    }

    /// `name+hash`, with the untrusted-looking name quoted, for error messages.
    fn label(&self) -> String {
        label(&self.name, self.hash)
    }
}

/// Reads a list of pinned verifier keys, one per line; blank lines and `#` comments are
/// skipped. Two keys with the same name and hash are refused: a signature line could not
/// say which of them it means (Go calls this an ambiguous key).
pub fn parse_verifiers(text: &[u8]) -> Result<Vec<Verifier>, SchemeError> {
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(SchemeError::Key(format!(
            "note verifier list is larger than {MAX_KEY_FILE_BYTES} bytes"
        )));
    }
    let text = std::str::from_utf8(text)
        .map_err(|_| SchemeError::Key("note verifier list is not UTF-8".into()))?;
    let mut out: Vec<Verifier> = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        if line.contains('\r') {
            return Err(SchemeError::Key(format!(
                "note verifier list line {n}: carriage return (CRLF line endings are not accepted)"
            )));
        }
        let line = line.trim_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let v = Verifier::parse(line).map_err(|e| match e {
            SchemeError::Key(m) => SchemeError::Key(format!("line {n}: {m}")),
            other => other,
        })?;
        if !seen.insert((v.name.clone(), v.hash)) {
            return Err(SchemeError::Key(format!(
                "note verifier list line {n}: key {} is listed twice",
                v.label()
            )));
        }
        out.push(v);
    }
    if out.is_empty() {
        return Err(SchemeError::Key("note verifier list holds no keys".into()));
    }
    Ok(out)
}

/// The vkey (`name+hash+base64(0x01 || key)`) that [`Verifier::parse`] reads back, so a
/// key can be published in the form Go's tools and witnesses expect.
pub fn key_line(name: &str, key: &PublicKey) -> String {
    let raw = public_bytes(key);
    let mut data = Vec::with_capacity(33);
    data.push(ALG_ED25519);
    data.extend_from_slice(&raw);
    format!(
        "{name}+{:08x}+{}",
        key_hash(name, &raw),
        base64::engine::general_purpose::STANDARD.encode(&data)
    )
}

/// Signs `text` as a note with one signature. Refuses any text `open` would refuse, so
/// nothing this writes can fail to parse.
pub fn sign(text: &str, name: &str, key: &SecretKey) -> Result<String, SchemeError> {
    check_name(name)
        .map_err(|why| SchemeError::Key(format!("note key name {}: {why}", quote(name))))?;
    if text.len() > MAX_NOTE_BYTES {
        return Err(SchemeError::Content(format!(
            "note text is larger than {MAX_NOTE_BYTES} bytes"
        )));
    }
    check_chars(text).map_err(|why| SchemeError::Content(format!("note text: {why}")))?;
    if !text.ends_with('\n') {
        return Err(SchemeError::Content(
            "note text does not end with a newline".into(),
        ));
    }
    let raw = public_bytes(key.public());
    let mut sig = Vec::with_capacity(68);
    sig.extend_from_slice(&key_hash(name, &raw).to_be_bytes());
    sig.extend_from_slice(&key.sign(text.as_bytes()));
    let b64 = base64::engine::general_purpose::STANDARD.encode(&sig);
    let note = format!("{text}\n{SIG_PREFIX}{name} {b64}\n");
    if note.len() > MAX_NOTE_BYTES {
        return Err(SchemeError::Content(format!(
            "note would be larger than {MAX_NOTE_BYTES} bytes"
        )));
    }
    Ok(note)
}

/// A note whose signatures checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed text, final newline included; only trustworthy because `open` returned.
    pub text: String,
    /// Names of the pinned keys whose signatures verified, in note order.
    pub signers: Vec<String>,
    /// Signature lines from keys not pinned here (witnesses, rotated keys), ignored as
    /// the spec requires.
    pub unknown: usize,
    /// The note as the pinned keys signed it: the text and only their signature lines.
    /// Evidence kept for the length of a run holds this, not the note as served, whose
    /// ignored lines a hostile mirror can pad to the size limit.
    pub pinned_note: String,
}

/// One parsed signature line.
struct SigLine<'a> {
    name: &'a str,
    hash: u32,
    sig: Vec<u8>,
}

/// Checks a signed note against pinned keys. Unknown keys are ignored, but a pinned key
/// whose signature fails rejects the whole note (as Go does): a known key signing
/// something else is a forgery attempt, not noise.
pub fn open(note: &[u8], verifiers: &[Verifier]) -> Result<Verified, SchemeError> {
    let bad = |why: String| SchemeError::Signature(format!("note: {why}"));
    if note.len() > MAX_NOTE_BYTES {
        return Err(bad(format!("larger than {MAX_NOTE_BYTES} bytes")));
    }
    let s = std::str::from_utf8(note)
        .map_err(|e| bad(format!("not UTF-8 (at byte {})", e.valid_up_to())))?;
    check_chars(s).map_err(bad)?;
    // The text may itself hold blank lines; the signatures start after the last one.
    let split = s
        .rfind("\n\n")
        .ok_or_else(|| bad("no blank line between the text and the signatures".into()))?;
    let text = s
        .get(..split + 1)
        .ok_or_else(|| bad("cannot split the text from the signatures".into()))?;
    let sigs = s
        .get(split + 2..)
        .ok_or_else(|| bad("cannot split the text from the signatures".into()))?;
    if sigs.is_empty() {
        return Err(bad("no signature lines".into()));
    }
    let body = sigs
        .strip_suffix('\n')
        .ok_or_else(|| bad("the last signature line does not end with a newline".into()))?;
    // Counted before anything is decoded or verified, so a flood of lines costs nothing.
    let count = body.split('\n').count();
    if count > MAX_SIGNATURE_LINES {
        return Err(bad(format!(
            "{count} signature lines, more than the {MAX_SIGNATURE_LINES} accepted"
        )));
    }

    let mut lines = Vec::with_capacity(count);
    for (i, line) in body.split('\n').enumerate() {
        lines.push(
            parse_sig_line(line).map_err(|why| bad(format!("signature line {}: {why}", i + 1)))?,
        );
    }

    let mut pinned: HashMap<(&str, u32), &Verifier> = HashMap::with_capacity(verifiers.len());
    for v in verifiers {
        if pinned.insert((v.name.as_str(), v.hash), v).is_some() {
            return Err(SchemeError::Key(format!(
                "two pinned note keys share the name and hash {}",
                v.label()
            )));
        }
    }

    let mut seen = HashSet::new();
    let mut signers = Vec::new();
    let mut unknown = 0usize;
    let mut pinned_note = String::with_capacity(text.len() + 1 + 128 * verifiers.len().min(count));
    pinned_note.push_str(text);
    pinned_note.push('\n');
    for (raw, line) in body.split('\n').zip(&lines) {
        let Some(v) = pinned.get(&(line.name, line.hash)) else {
            unknown += 1;
            continue;
        };
        if !seen.insert((line.name, line.hash)) {
            return Err(bad(format!("key {} signed twice", v.label())));
        }
        if line.sig.len() != 64 {
            return Err(SchemeError::BadSignature(format!(
                " for note key {} (signature is {} bytes, not 64)",
                v.label(),
                line.sig.len()
            )));
        }
        if !v.key.verify_strict(text.as_bytes(), &line.sig) {
            return Err(SchemeError::BadSignature(format!(
                " for note key {}",
                v.label()
            )));
        }
        signers.push(v.name.clone());
        pinned_note.push_str(raw);
        pinned_note.push('\n');
    }

    if signers.is_empty() {
        let found: Vec<String> = lines.iter().map(|l| label(l.name, l.hash)).collect();
        let mut expected: Vec<String> = verifiers.iter().take(8).map(Verifier::label).collect();
        if verifiers.len() > 8 {
            expected.push(format!("and {} more", verifiers.len() - 8));
        }
        if expected.is_empty() {
            expected.push("(none)".into());
        }
        return Err(SchemeError::WrongKey {
            expected: expected.join(", "),
            found: found.join(", "),
        });
    }
    Ok(Verified {
        text: text.to_owned(),
        signers,
        unknown,
        pinned_note,
    })
}

/// `— <name> <base64(hash || signature)>`, newline already removed.
fn parse_sig_line(line: &str) -> Result<SigLine<'_>, String> {
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or_else(|| format!("{} does not start with an em dash and a space", quote(line)))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| format!("{} has no space between name and signature", quote(line)))?;
    check_name(name).map_err(|why| format!("key name {}: {why}", quote(name)))?;
    let raw = strict_base64(b64)
        .ok_or_else(|| format!("signature of {} is not canonical base64", quote(name)))?;
    // Four bytes of key hash and at least one of signature, as Go requires.
    let (hash, sig) = raw
        .split_first_chunk::<4>()
        .filter(|(_, sig)| !sig.is_empty())
        .ok_or_else(|| format!("signature of {} is too short", quote(name)))?;
    Ok(SigLine {
        name,
        hash: u32::from_be_bytes(*hash),
        sig: sig.to_vec(),
    })
}

/// The tree head a log signed (c2sp.org/tlog-checkpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root_hash: [u8; 32],
    /// Opaque lines after the root hash; kept so a caller can refuse ones it does not know.
    pub extensions: Vec<String>,
}

/// Parses a checkpoint from the text of a verified note. Each field has exactly one
/// accepted spelling (no leading zeros, canonical base64), so two checkpoints with the
/// same tree head cannot differ in their bytes, and equivocation checks can compare them.
pub fn parse_checkpoint(text: &str) -> Result<Checkpoint, SchemeError> {
    let bad = |why: String| SchemeError::Content(format!("checkpoint: {why}"));
    if text.len() > MAX_NOTE_BYTES {
        return Err(bad(format!("larger than {MAX_NOTE_BYTES} bytes")));
    }
    check_chars(text).map_err(bad)?;
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| bad("text does not end with a newline".into()))?;
    let mut lines = body.split('\n');
    let origin = lines.next().unwrap_or_default();
    if origin.is_empty() {
        return Err(bad("origin line is empty".into()));
    }
    let size_line = lines
        .next()
        .ok_or_else(|| bad("no tree size line".into()))?;
    let size = parse_tree_size(size_line).ok_or_else(|| {
        bad(format!(
            "tree size {} is not a decimal number without sign or leading zeros that fits in 64 bits",
            quote(size_line)
        ))
    })?;
    let hash_line = lines
        .next()
        .ok_or_else(|| bad("no root hash line".into()))?;
    let root_hash: [u8; 32] = strict_base64(hash_line)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| {
            bad(format!(
                "root hash {} is not canonical base64 of 32 bytes",
                quote(hash_line)
            ))
        })?;
    let mut extensions = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            return Err(bad(format!("extension line {} is empty", i + 1)));
        }
        extensions.push(line.to_owned());
    }
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root_hash,
        extensions,
    })
}

fn parse_tree_size(s: &str) -> Option<u64> {
    let canonical = !s.is_empty()
        && s.len() <= 20
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// The spec's key name rule: non-empty, no plus (it separates vkey fields) and no Unicode
/// space (it separates signature-line fields).
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("name is empty")
    } else if name.contains('+') {
        Err("name contains a plus sign")
    } else if name.chars().any(char::is_whitespace) {
        Err("name contains a space")
    } else {
        Ok(())
    }
}

/// The spec forbids ASCII control characters other than newline anywhere in a note; a
/// carriage return gets its own message because CRLF is the likely cause.
fn check_chars(s: &str) -> Result<(), String> {
    for (i, b) in s.bytes().enumerate() {
        if b == b'\r' {
            return Err(format!(
                "carriage return at byte {i} (CRLF line endings are not accepted)"
            ));
        }
        if b < 0x20 && b != b'\n' {
            return Err(format!("control character 0x{b:02x} at byte {i}"));
        }
    }
    Ok(())
}

/// Exactly 8 lowercase hex digits, the form Go writes, so one key has one vkey.
fn parse_key_hash(s: &str) -> Option<u32> {
    if s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        u32::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// SHA-256(name || "\n" || 0x01 || key), first four bytes big-endian.
fn key_hash(name: &str, key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(key);
    let digest = h.finalize();
    digest
        .first_chunk::<4>()
        .map_or(0, |b| u32::from_be_bytes(*b))
}

fn public_bytes(key: &PublicKey) -> [u8; 32] {
    let mut out = [0u8; 32];
    // `to_hex` is always 64 hex digits, so this cannot fail; were it to, the all-zero key
    // is a small-order point that `Verifier::parse` refuses, so nothing would verify.
    let _ = hex::decode_to_slice(key.to_hex(), &mut out);
    out
}

/// Untrusted text for an error message: quoted, and cut to a readable length.
fn quote(s: &str) -> String {
    const MAX_CHARS: usize = 64;
    match s.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{:?}...", s.get(..cut).unwrap_or_default()),
        None => format!("{s:?}"),
    }
}

fn label(name: &str, hash: u32) -> String {
    format!("{}+{hash:08x}", quote(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from golang.org/x/mod sumdb/note/note_test.go (TestNewVerifier, TestSign,
    // TestOpen) and the package documentation.
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; // 0x01 || seed
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    // The checksum database key the go command pins (src/cmd/go/internal/modfetch/key.go).
    const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
    // Real tree heads served by sum.golang.org, as quoted in public write-ups found in the
    // search corpus (a Sigsum checkpoint-format proposal; a blog post showing the go
    // command's cached /lookup answer). Checked independently with Python's
    // `cryptography` Ed25519 before being pasted here.
    const SUMDB_NOTE_1: &str = "go.sum database tree\n15368405\n/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=\n\n\
                                — sum.golang.org Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=\n";
    const SUMDB_NOTE_2: &str = "go.sum database tree\n63096908\n8lHrQPRYe4KT4WQ9/Qk8/taKnD6IRHbFgfN7vQE2Y54=\n\n\
                                — sum.golang.org Az3gri/oVBN1jAhNZ/iS+W31psFAWRT20/GyrhpU6taFwulQGetBkH5S7wpGXdS935jiIGiUUAXBVHzT/P6fYhqAmAk=\n";

    // The examples in c2sp.org/tlog-checkpoint and c2sp.org/signed-note. The checkpoint
    // example's signature is a genuine sum.golang.org signature over the same tree head
    // with origin "go.sum database tree"; the spec renamed origin and key, so as printed
    // it verifies under no published key.
    const SPEC_CHECKPOINT: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
                                   — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    const SPEC_NOTE: &str = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\
                             — quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

    fn b64(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    fn own(seed: u8, name: &str) -> (SecretKey, Verifier) {
        let sk = SecretKey::from_seed(&[seed; 32]).unwrap();
        let v = Verifier::parse(&key_line(name, sk.public())).unwrap();
        (sk, v)
    }

    fn peter_secret() -> SecretKey {
        let raw = strict_base64(PETER_SKEY_B64).unwrap();
        assert_eq!(raw[0], ALG_ED25519);
        SecretKey::from_seed(&raw[1..].try_into().unwrap()).unwrap()
    }

    /// Rewrites the base64 payload of the signature line `idx` (0-based) through `f`.
    fn mangle_sig(note: &str, idx: usize, f: impl Fn(&mut Vec<u8>)) -> String {
        let split = note.rfind("\n\n").unwrap() + 2;
        let (text, sigs) = note.split_at(split);
        let mut out = text.to_owned();
        for (i, line) in sigs.lines().enumerate() {
            if i == idx {
                let (head, sig) = line.rsplit_once(' ').unwrap();
                let mut raw = strict_base64(sig).unwrap();
                f(&mut raw);
                out.push_str(&format!("{head} {}\n", b64(&raw)));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    #[test]
    fn go_verifier_keys_parse() {
        let peter = Verifier::parse(PETER_VKEY).unwrap();
        assert_eq!(peter.name, "PeterNeumann");
        assert_eq!(peter.hash, 0xc74f20a3);
        assert_eq!(key_line(&peter.name, &peter.key), PETER_VKEY);
        let enoch = Verifier::parse(ENOCH_VKEY).unwrap();
        assert_eq!(enoch.hash, 0xaf0cfe78);
        assert_eq!(key_line(&enoch.name, &enoch.key), ENOCH_VKEY);
        let sumdb = Verifier::parse(SUMDB_VKEY).unwrap();
        assert_eq!(
            (sumdb.name.as_str(), sumdb.hash),
            ("sum.golang.org", 0x033de0ae)
        );
    }

    #[test]
    fn go_verifier_manglings_are_refused() {
        // Port of Go's TestNewVerifier: every proper substring, every byte bumped.
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    let s = std::str::from_utf8(&b[i..j]).unwrap();
                    assert!(Verifier::parse(s).is_err(), "accepted {s:?}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let s = String::from_utf8(m).unwrap();
            assert!(Verifier::parse(&s).is_err(), "accepted {s:?}");
        }
        // Wrong key length and unknown algorithm, each with an adjusted hash (from Go).
        assert!(
            Verifier::parse(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            )
            .is_err()
        );
        let err =
            Verifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .unwrap_err();
        assert!(err.to_string().contains("unsupported"), "{err}");
    }

    #[test]
    fn vkey_hash_mismatch_and_other_algorithms() {
        let (sk, _) = own(1, "example.com/k");
        let good = key_line("example.com/k", sk.public());
        // Same key under another name keeps the old hash: must not match.
        let renamed = good.replacen("example.com/k", "example.com/j", 1);
        let err = Verifier::parse(&renamed).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        // Uppercase hex is the same number but not the canonical spelling.
        assert!(Verifier::parse(&PETER_VKEY.replacen("c74f20a3", "C74F20A3", 1)).is_err());
        // A cosignature-type (0x04) key with a correct hash is still refused as unsupported.
        let mut raw = vec![0x04];
        raw.extend_from_slice(&public_bytes(sk.public()));
        let mut h = Sha256::new();
        h.update(b"example.com/k\n");
        h.update(&raw);
        let d = h.finalize();
        let vkey = format!(
            "example.com/k+{:02x}{:02x}{:02x}{:02x}+{}",
            d[0],
            d[1],
            d[2],
            d[3],
            b64(&raw)
        );
        let err = Verifier::parse(&vkey).unwrap_err();
        assert!(err.to_string().contains("unsupported"), "{err}");
    }

    #[test]
    fn small_order_key_is_refused() {
        // The identity point (y = 1) with a correctly computed hash.
        let mut key = [0u8; 32];
        key[0] = 1;
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(&key);
        let vkey = format!(
            "weak.example+{:08x}+{}",
            key_hash("weak.example", &key),
            b64(&raw)
        );
        let err = Verifier::parse(&vkey).unwrap_err();
        assert!(matches!(err, SchemeError::Key(_)), "{err}");
        assert!(err.to_string().contains("weak"), "{err}");
    }

    #[test]
    fn key_names_follow_the_spec() {
        let sk = SecretKey::from_seed(&[2; 32]).unwrap();
        for name in [
            "",
            "a+b",
            "a b",
            "a\tb",
            "a\u{a0}b",
            "a\u{3000}b",
            "a\u{2028}b",
        ] {
            assert!(sign("hi\n", name, &sk).is_err(), "signed as {name:?}");
            assert!(
                Verifier::parse(&key_line(name, sk.public())).is_err(),
                "{name:?}"
            );
        }
        assert!(sign("hi\n", "example.com/ünïcode", &sk).is_ok());
    }

    #[test]
    fn sign_reproduces_go() {
        let sk = peter_secret();
        assert_eq!(key_line("PeterNeumann", sk.public()), PETER_VKEY);
        let note = sign(GO_TEXT, "PeterNeumann", &sk).unwrap();
        assert_eq!(note, format!("{GO_TEXT}\n{PETER_SIG}"));
        assert!(sign("abc", "PeterNeumann", &sk).is_err()); // no final newline
        assert!(sign("a\r\n", "PeterNeumann", &sk).is_err());
    }

    #[test]
    fn go_open_vectors() {
        let peter = Verifier::parse(PETER_VKEY).unwrap();
        let enoch = Verifier::parse(ENOCH_VKEY).unwrap();
        let both = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");

        let v = open(both.as_bytes(), std::slice::from_ref(&peter)).unwrap();
        assert_eq!(v.text, GO_TEXT);
        assert_eq!(v.signers, ["PeterNeumann"]);
        assert_eq!(v.unknown, 1);

        let v = open(both.as_bytes(), &[peter.clone(), enoch.clone()]).unwrap();
        assert_eq!(v.signers, ["PeterNeumann", "EnochRoot"]);
        assert_eq!(v.unknown, 0);

        let err = open(both.as_bytes(), &[]).unwrap_err();
        assert!(matches!(err, SchemeError::WrongKey { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("PeterNeumann") && msg.contains("EnochRoot"),
            "{msg}"
        );

        let sumdb = Verifier::parse(SUMDB_VKEY).unwrap();
        let err = open(both.as_bytes(), &[sumdb]).unwrap_err().to_string();
        assert!(err.contains("\"sum.golang.org\"+033de0ae"), "{err}");

        // Ambiguous pinned keys (Go: "ambiguous key").
        let enoch_only = format!("{GO_TEXT}\n{ENOCH_SIG}");
        assert!(
            open(
                enoch_only.as_bytes(),
                &[enoch.clone(), peter.clone(), enoch.clone()]
            )
            .is_err()
        );

        // Go's "invalid signature": four extra base64 characters inside Peter's signature.
        let bad = format!("{GO_TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        let err = open(bad.as_bytes(), std::slice::from_ref(&peter)).unwrap_err();
        assert!(matches!(err, SchemeError::BadSignature(_)), "{err}");
        assert!(err.to_string().contains("PeterNeumann"), "{err}");

        // Go's malformed notes.
        let bad_msgs = [
            GO_TEXT.to_owned(),
            format!("{GO_TEXT}\n"),
            format!("{GO_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\x01{GO_TEXT}\n{PETER_SIG}"),
            format!(
                "{GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            ),
            format!("{GO_TEXT}\n{PETER_SIG}Unexpected line.\n"),
        ];
        for m in &bad_msgs {
            let err = open(m.as_bytes(), std::slice::from_ref(&peter)).unwrap_err();
            assert!(matches!(err, SchemeError::Signature(_)), "{m:?}: {err}");
        }
        let mut invalid_utf8 = b"\xff".to_vec();
        invalid_utf8.extend_from_slice(format!("{GO_TEXT}\n{PETER_SIG}").as_bytes());
        assert!(open(&invalid_utf8, std::slice::from_ref(&peter)).is_err());
    }

    #[test]
    fn known_key_twice_is_refused() {
        // Go keeps the first of two identical lines; we refuse the note.
        let peter = Verifier::parse(PETER_VKEY).unwrap();
        let twice = format!("{GO_TEXT}\n{PETER_SIG}{PETER_SIG}");
        let err = open(twice.as_bytes(), &[peter]).unwrap_err();
        assert!(err.to_string().contains("signed twice"), "{err}");
    }

    #[test]
    fn bad_known_signature_fails_even_beside_a_good_one() {
        let peter = Verifier::parse(PETER_VKEY).unwrap();
        let enoch = Verifier::parse(ENOCH_VKEY).unwrap();
        let note = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let note = mangle_sig(&note, 1, |raw| raw[10] ^= 1);
        // Enoch unknown: the broken line is ignored.
        assert!(open(note.as_bytes(), std::slice::from_ref(&peter)).is_ok());
        // Enoch pinned: the broken line rejects the note.
        let err = open(note.as_bytes(), &[peter, enoch]).unwrap_err();
        assert!(matches!(err, SchemeError::BadSignature(_)), "{err}");
    }

    #[test]
    fn real_sum_golang_org_checkpoints() {
        let keys =
            parse_verifiers(format!("# the go command's key\n{SUMDB_VKEY}\n").as_bytes()).unwrap();
        for (note, size, root) in [
            (
                SUMDB_NOTE_1,
                15368405,
                "/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=",
            ),
            (
                SUMDB_NOTE_2,
                63096908,
                "8lHrQPRYe4KT4WQ9/Qk8/taKnD6IRHbFgfN7vQE2Y54=",
            ),
        ] {
            let v = open(note.as_bytes(), &keys).unwrap();
            assert_eq!(v.signers, ["sum.golang.org"]);
            assert_eq!(v.unknown, 0);
            let cp = parse_checkpoint(&v.text).unwrap();
            assert_eq!(cp.origin, "go.sum database tree");
            assert_eq!(cp.size, size);
            assert_eq!(cp.root_hash.to_vec(), strict_base64(root).unwrap());
            assert!(cp.extensions.is_empty());

            // Tampering: tree size, root hash, signature, key hash.
            let bumped = note.replacen(&size.to_string(), &(size + 1).to_string(), 1);
            let err = open(bumped.as_bytes(), &keys).unwrap_err();
            assert!(matches!(err, SchemeError::BadSignature(_)), "{err}");
            let mut other_root = strict_base64(root).unwrap();
            other_root[31] ^= 1;
            let flipped_root = note.replacen(root, &b64(&other_root), 1);
            assert_ne!(flipped_root, note);
            let err = open(flipped_root.as_bytes(), &keys).unwrap_err();
            assert!(matches!(err, SchemeError::BadSignature(_)), "{err}");
            let sig = mangle_sig(note, 0, |raw| raw[40] ^= 0x80);
            assert!(matches!(
                open(sig.as_bytes(), &keys),
                Err(SchemeError::BadSignature(_))
            ));
            // A changed key hash makes the line unknown, so no pinned key signed.
            let hash = mangle_sig(note, 0, |raw| raw[3] ^= 1);
            let err = open(hash.as_bytes(), &keys).unwrap_err();
            assert!(matches!(err, SchemeError::WrongKey { .. }), "{err}");
        }
    }

    #[test]
    fn tlog_checkpoint_spec_example() {
        let sumdb = Verifier::parse(SUMDB_VKEY).unwrap();
        // As printed: origin and key name renamed, so the pinned sumdb key (same key hash,
        // other name) must treat it as unknown, per the spec.
        let err = open(SPEC_CHECKPOINT.as_bytes(), std::slice::from_ref(&sumdb)).unwrap_err();
        assert!(
            err.to_string().contains("example.com/behind-the-sofa"),
            "{err}"
        );
        let text = SPEC_CHECKPOINT.split("\n\n").next().unwrap().to_owned() + "\n";
        let cp = parse_checkpoint(&text).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20852163);
        assert_eq!(
            cp.root_hash.to_vec(),
            strict_base64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").unwrap()
        );
        // With the original names restored, it is a genuine sum.golang.org tree head.
        let restored = SPEC_CHECKPOINT
            .replace("example.com/behind-the-sofa\n", "go.sum database tree\n")
            .replace("— example.com/behind-the-sofa ", "— sum.golang.org ");
        let v = open(restored.as_bytes(), &[sumdb]).unwrap();
        assert_eq!(parse_checkpoint(&v.text).unwrap().size, 20852163);
    }

    #[test]
    fn signed_note_spec_example_and_unknown_lines() {
        // The spec's example note does not publish its key; add our own signature and
        // check the text (with its inner blank line) comes back intact, the spec's line
        // ignored as unknown.
        let (sk, v) = own(3, "example.com/witness");
        let text = SPEC_NOTE.rsplit_once("\n\n").unwrap().0.to_owned() + "\n";
        let ours = sign(&text, "example.com/witness", &sk).unwrap();
        let our_line = ours.rsplit_once("\n\n").unwrap().1;
        let combined = format!("{SPEC_NOTE}{our_line}");
        let got = open(combined.as_bytes(), std::slice::from_ref(&v)).unwrap();
        assert_eq!(
            got.text,
            "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
        );
        assert_eq!(got.signers, ["example.com/witness"]);
        assert_eq!(got.unknown, 1);
        // Alone, the spec's note is signed by no key we know.
        let err = open(SPEC_NOTE.as_bytes(), std::slice::from_ref(&v)).unwrap_err();
        assert!(
            err.to_string().contains("quasimodo.example/salvatore"),
            "{err}"
        );

        // Same name, other hash; same hash, other name: both ignored (spec: MUST).
        let sig = strict_base64(our_line.trim_end().rsplit_once(' ').unwrap().1).unwrap();
        let mut other_hash = sig.clone();
        other_hash[0] ^= 0xff;
        let lines = format!(
            "— example.com/witness {}\n— example.com/other {}\n",
            b64(&other_hash),
            b64(&sig)
        );
        let note = format!("{ours}{lines}");
        let got = open(note.as_bytes(), &[v]).unwrap();
        assert_eq!(got.unknown, 2);
        assert_eq!(got.signers, ["example.com/witness"]);
    }

    #[test]
    fn at_most_sixteen_signature_lines() {
        let (sk, v) = own(4, "example.com/log");
        let note = sign("tree\n", "example.com/log", &sk).unwrap();
        let unknown = |n: usize| -> String {
            (0..n)
                .map(|i| format!("— example.com/w{i} {}\n", b64(&[i as u8; 68])))
                .collect()
        };
        let sixteen = format!("{note}{}", unknown(15));
        assert_eq!(
            open(sixteen.as_bytes(), std::slice::from_ref(&v))
                .unwrap()
                .unknown,
            15
        );
        let seventeen = format!("{note}{}", unknown(16));
        let err = open(seventeen.as_bytes(), &[v]).unwrap_err();
        assert!(err.to_string().contains("17 signature lines"), "{err}");
    }

    #[test]
    fn format_damage_is_refused() {
        let (sk, v) = own(5, "example.com/log");
        let keys = std::slice::from_ref(&v);
        let note = sign("line one\nline two\n", "example.com/log", &sk).unwrap();
        assert!(open(note.as_bytes(), keys).is_ok());

        // Text byte flipped.
        let t = note.replacen("one", "onf", 1);
        assert!(matches!(
            open(t.as_bytes(), keys),
            Err(SchemeError::BadSignature(_))
        ));
        // Missing blank line.
        let t = note.replacen("two\n\n", "two\n", 1);
        let err = open(t.as_bytes(), keys).unwrap_err().to_string();
        assert!(err.contains("blank line"), "{err}");
        // CRLF.
        let t = note.replace('\n', "\r\n");
        let err = open(t.as_bytes(), keys).unwrap_err().to_string();
        assert!(err.contains("CRLF"), "{err}");
        // Trailing garbage, with and without newline.
        assert!(open(format!("{note}garbage").as_bytes(), keys).is_err());
        assert!(open(format!("{note}garbage\n").as_bytes(), keys).is_err());
        // Truncated.
        assert!(open(&note.as_bytes()[..note.len() - 1], keys).is_err());
        assert!(open(&note.as_bytes()[..note.len() - 10], keys).is_err());
        // Hyphen instead of em dash.
        assert!(open(note.replacen("— ", "- ", 1).as_bytes(), keys).is_err());
        // Non-canonical base64 (unused trailing bits set: '=' preceded by a non-zero tail).
        let line = note.rsplit_once("\n\n").unwrap().1.trim_end();
        let b = line.rsplit_once(' ').unwrap().1;
        assert!(b.ends_with('='));
        let before = &b[..b.len() - 2];
        let last = b.as_bytes()[b.len() - 2];
        let bumped = if last == b'/' {
            '+'
        } else {
            (last + 1) as char
        };
        let t = note.replacen(b, &format!("{before}{bumped}="), 1);
        assert!(open(t.as_bytes(), keys).is_err());
        // Tab and other control characters.
        assert!(open(note.replacen("one", "o\tne", 1).as_bytes(), keys).is_err());
        // Too big, before any parsing.
        let huge = vec![b'a'; MAX_NOTE_BYTES + 1];
        let err = open(&huge, keys).unwrap_err().to_string();
        assert!(err.contains("larger"), "{err}");
        assert!(
            sign(
                &"a\n".repeat(MAX_NOTE_BYTES / 2 + 1),
                "example.com/log",
                &sk
            )
            .is_err()
        );
        // A signature line too short to hold a key hash and a signature.
        let t = format!("{note}— example.com/x {}\n", b64(&[1, 2, 3, 4]));
        assert!(open(t.as_bytes(), keys).is_err());
    }

    #[test]
    fn non_canonical_s_is_refused() {
        // S + L encodes the same scalar; verify_strict must refuse it.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let (sk, v) = own(6, "example.com/log");
        let note = sign("tree\n", "example.com/log", &sk).unwrap();
        let t = mangle_sig(&note, 0, |raw| {
            let s = &mut raw[4 + 32..4 + 64];
            let mut carry = 0u16;
            for (b, l) in s.iter_mut().zip(L) {
                let sum = *b as u16 + l as u16 + carry;
                *b = sum as u8;
                carry = sum >> 8;
            }
            assert_eq!(carry, 0);
        });
        assert_ne!(t, note);
        let err = open(t.as_bytes(), &[v]).unwrap_err();
        assert!(matches!(err, SchemeError::BadSignature(_)), "{err}");
    }

    #[test]
    fn wrong_key_and_short_signature() {
        let (sk, _) = own(7, "example.com/log");
        let (_, other) = own(8, "example.com/log");
        let note = sign("tree\n", "example.com/log", &sk).unwrap();
        let err = open(note.as_bytes(), &[other]).unwrap_err();
        assert!(matches!(err, SchemeError::WrongKey { .. }), "{err}");
        // Right key hash, signature cut to 63 bytes.
        let (_, v) = own(7, "example.com/log");
        let t = mangle_sig(&note, 0, |raw| {
            raw.pop();
        });
        let err = open(t.as_bytes(), &[v]).unwrap_err();
        assert!(err.to_string().contains("63 bytes"), "{err}");
    }

    #[test]
    fn verifier_lists() {
        let (sk, _) = own(9, "example.com/a");
        let a = key_line("example.com/a", sk.public());
        let b = key_line("example.com/b", sk.public());
        let list = format!("# pinned\n\n  {a}\n{b}\n");
        let vs = parse_verifiers(list.as_bytes()).unwrap();
        assert_eq!(vs.len(), 2);
        assert_eq!(vs[1].name, "example.com/b");
        let err = parse_verifiers(format!("{a}\n{b}\n{a}\n").as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("line 3") && err.to_string().contains("twice"),
            "{err}"
        );
        assert!(parse_verifiers(format!("{a}\r\n").as_bytes()).is_err());
        assert!(parse_verifiers(b"# nothing\n\n").is_err());
        assert!(
            parse_verifiers(format!("{a}\nnot a key\n").as_bytes())
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
        assert!(parse_verifiers(&vec![b'#'; MAX_KEY_FILE_BYTES as usize + 1]).is_err());
        assert!(parse_verifiers(b"\xff\n").is_err());
        assert!(Verifier::parse(&"a".repeat(MAX_VKEY_BYTES + 1)).is_err());
    }

    #[test]
    fn checkpoint_fields() {
        let root = b64(&[7u8; 32]);
        let ok = |size: &str| parse_checkpoint(&format!("o\n{size}\n{root}\n"));
        assert_eq!(ok("0").unwrap().size, 0);
        assert_eq!(ok("18446744073709551615").unwrap().size, u64::MAX);
        for bad in [
            "",
            "01",
            "00",
            "+5",
            "-1",
            " 5",
            "5 ",
            "18446744073709551616",
            "1e3",
            "0x10",
            "٣",
        ] {
            assert!(ok(bad).is_err(), "accepted size {bad:?}");
        }
        let cp = parse_checkpoint(&format!("o\n5\n{root}\next one\next two\n")).unwrap();
        assert_eq!(cp.extensions, ["ext one", "ext two"]);
        assert_eq!(cp.root_hash, [7u8; 32]);
        let bad = [
            format!("\n5\n{root}\n"),               // empty origin
            format!("o\n5\n{root}"),                // no final newline
            format!("o\n5\n{root}\n\next\n"),       // empty extension line
            format!("o\n5\n{root}\n\n"),            // trailing empty line
            "o\n5\n".to_owned(),                    // no root hash
            "o\n".to_owned(),                       // no size
            format!("o\n5\n{}\n", b64(&[7u8; 31])), // short hash
            format!("o\n5\n{}\n", b64(&[7u8; 33])), // long hash
            format!("o\r\n5\r\n{root}\r\n"),        // CRLF
        ];
        for text in &bad {
            let err = parse_checkpoint(text).unwrap_err();
            assert!(matches!(err, SchemeError::Content(_)), "{text:?}: {err}");
        }
    }

    #[test]
    fn error_text_is_one_bounded_line() {
        let name = format!("evil\u{2028}{}", "x".repeat(5000));
        let note = format!("t\n\n— {name} {}\n", b64(&[1u8; 68]));
        let err = open(note.as_bytes(), &[]).unwrap_err().to_string();
        assert!(!err.contains('\n') && err.len() < 400, "{err}");
        let (_, v) = own(10, "example.com/log");
        let long = "y".repeat(5000);
        let note = format!("t\n\n— {long} {}\n", b64(&[1u8; 68]));
        let err = open(note.as_bytes(), &[v]).unwrap_err().to_string();
        assert!(!err.contains('\n') && err.len() < 400, "{err}");
    }
}
