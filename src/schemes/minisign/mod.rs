//! minisign public keys and signatures (`.minisig`), checked under our strict Ed25519
//! policy rather than libsodium's, so a file gets the same verdict here as every other
//! format we accept.
//!
//! A minisign signature file is four lines: an untrusted comment, the base64 of
//! `alg || key_id || signature`, `trusted comment: <text>`, and the base64 of a "global"
//! signature over `signature || text`. The global signature is what makes the trusted
//! comment trustworthy, so it is always checked; a file whose first signature is good but
//! whose global signature is not is refused, never reported as half-valid.
//!
//! `Ed` (legacy) signs the file itself; `ED` (the default since minisign 0.8) signs its
//! BLAKE2b-512, which lets callers stream large files and hand over only the digest.

use super::{MAX_KEY_FILE_BYTES, MAX_SIGNATURE_FILE_BYTES, Message, Prehash, SchemeError};
use crate::keys::PublicKey;

const UNTRUSTED_PREFIX: &[u8] = b"untrusted comment: ";
const TRUSTED_PREFIX: &[u8] = b"trusted comment: ";

/// minisign reads comment lines with `fgets` into 1024- and 8192-byte buffers and refuses a
/// line whose newline does not fit, so a line (without its `\n`) is at most 1022 or 8190
/// bytes. Using the same limits means we refuse nothing minisign accepts for length alone.
const MAX_UNTRUSTED_LINE: usize = 1022;
const MAX_TRUSTED_LINE: usize = 8190;

/// Base64 lengths of the fixed-size structures, used to bound and identify lines before
/// decoding them.
const KEY_B64_LEN: usize = 56; // 42 bytes: "Ed" || key_id || pk
const SIG_B64_LEN: usize = 100; // 74 bytes: alg || key_id || signature
const GLOBAL_SIG_B64_LEN: usize = 88; // 64 bytes
const SECRET_KEY_B64_LEN: usize = 212; // 158 bytes: minisign's SeckeyStruct

const KEY_LEN: usize = 42;
const SIG_LEN: usize = 74;

/// A minisign public key whose Ed25519 point passed our strict load checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinisignKey {
    /// As stored in the file (little-endian); see [`key_id_hex`] for display.
    pub key_id: [u8; 8],
    pub key: PublicKey,
}

/// The signature algorithm bytes of a `.minisig` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `Ed`: Ed25519 over the whole file.
    Legacy,
    /// `ED`: Ed25519 over the BLAKE2b-512 of the file.
    Prehashed,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Legacy => "Ed",
            Algorithm::Prehashed => "ED",
        }
    }
}

/// A parsed `.minisig` file. Nothing in it is trusted until [`verify`] succeeds; the
/// untrusted comment is dropped because nothing may ever rely on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinisignSignature {
    pub algorithm: Algorithm,
    pub key_id: [u8; 8],
    pub signature: [u8; 64],
    /// The text after `trusted comment: `, without the line ending.
    pub trusted_comment: String,
    pub global_signature: [u8; 64],
}

/// The key id as minisign prints it (`minisign public key D50D15E7FCA0DFB8`, and in its
/// key-mismatch errors), so users can match our messages against their key files.
pub fn key_id_hex(id: &[u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(*id))
}

/// BLAKE2b-512 of an in-memory message, as `ED` signatures sign it.
pub fn blake2b512(data: &[u8]) -> [u8; 64] {
    *blake2b_simd::blake2b(data).as_array()
}

/// What the caller must stream the signed file through before calling [`verify`].
pub fn prehash(sig: &MinisignSignature) -> Prehash {
    match sig.algorithm {
        Algorithm::Legacy => Prehash::None,
        Algorithm::Prehashed => Prehash::Blake2b512,
    }
}

/// One line of input, split at `\n`.
struct Line<'a> {
    /// Without the `\n` and without a `\r` just before it.
    text: &'a [u8],
    /// Bytes before the `\n` (including a `\r`), which is what minisign's limits count.
    raw_len: usize,
    terminated: bool,
}

/// Splits off the first line. A `\r` is only removed as part of a `\r\n` ending, which is
/// what minisign tolerates; a `\r` anywhere else stays in the text and is refused later.
fn split_line(input: &[u8]) -> (Line<'_>, &[u8]) {
    match input.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let (raw, rest) = input.split_at(i);
            let rest = rest.get(1..).unwrap_or_default();
            let text = raw.strip_suffix(b"\r").unwrap_or(raw);
            (
                Line {
                    text,
                    raw_len: raw.len(),
                    terminated: true,
                },
                rest,
            )
        }
        None => (
            Line {
                text: input,
                raw_len: input.len(),
                terminated: false,
            },
            &[],
        ),
    }
}

fn too_large(len: usize, limit: u64) -> Option<String> {
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    (len > limit).then(|| format!("file is {len} bytes, over the {limit}-byte limit"))
}

/// Decodes a base64 line of a known length, so nothing but the one canonical encoding of
/// a fixed-size structure is accepted.
fn decode_fixed(text: &[u8], b64_len: usize, what: &str) -> Result<Vec<u8>, String> {
    if text.len() != b64_len {
        return Err(format!(
            "{what} line is {} characters, expected {b64_len} base64 characters",
            text.len()
        ));
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(super::strict_base64)
        .ok_or_else(|| format!("{what} line is not canonical standard base64"))
}

impl MinisignKey {
    /// Accepts a minisign public key file (`untrusted comment: ...` then the base64 line)
    /// or the bare base64 string that `minisign -P` takes, each with at most one final line
    /// ending. Secret key files are refused without decoding them.
    pub fn parse(bytes: &[u8]) -> Result<MinisignKey, SchemeError> {
        let err = |m: String| SchemeError::Key(m);
        if let Some(m) = too_large(bytes.len(), MAX_KEY_FILE_BYTES) {
            return Err(err(m));
        }
        let (first, rest) = split_line(bytes);
        let (comment, key_line, trailing) = if first.text.starts_with(UNTRUSTED_PREFIX) {
            if first.raw_len > MAX_UNTRUSTED_LINE {
                return Err(err(format!(
                    "comment line is over minisign's {MAX_UNTRUSTED_LINE}-byte limit"
                )));
            }
            if !first.terminated {
                return Err(err("file ends after its comment line, no key".into()));
            }
            let (second, rest) = split_line(rest);
            (Some(first.text), second, rest)
        } else {
            (None, first, rest)
        };
        let text = key_line.text;
        // Say what the file is when it is clearly another minisign file: people mix up
        // minisign.key, minisign.pub and .minisig, and "wrong length" helps no one.
        if text.len() == SIG_B64_LEN {
            return Err(err(
                "this looks like a minisign signature, not a public key".into(),
            ));
        }
        if text.len() != KEY_B64_LEN {
            let says_secret = comment.is_some_and(|c| {
                c.to_ascii_lowercase()
                    .windows(b"secret key".len())
                    .any(|w| w == b"secret key")
            });
            if text.len() == SECRET_KEY_B64_LEN || says_secret {
                return Err(err(
                    "this is a minisign SECRET key file; give the public key (minisign.pub, or the string after -P that minisign -G prints)"
                        .into(),
                ));
            }
        }
        if !trailing.is_empty() {
            return Err(err(if comment.is_some() {
                "unexpected data after the key line (a minisign public key file is two lines)"
            } else {
                "not a minisign public key: expected one base64 line, or an \"untrusted comment: \" line and a base64 line"
            }
            .into()));
        }
        let decoded = decode_fixed(text, KEY_B64_LEN, "public key").map_err(err)?;
        let Some((alg, rest)) = decoded.split_first_chunk::<2>() else {
            return Err(err("public key is too short".into()));
        };
        if alg != b"Ed" {
            return Err(err(format!(
                "key algorithm \"{}\" is not minisign's \"Ed\"",
                alg.escape_ascii()
            )));
        }
        let (Some((key_id, pk)), true) = (rest.split_first_chunk::<8>(), decoded.len() == KEY_LEN)
        else {
            return Err(err("public key has the wrong length".into()));
        };
        let pk: [u8; 32] = pk
            .try_into()
            .map_err(|_| err("public key has the wrong length".into()))?;
        let key = PublicKey::from_bytes(&pk).map_err(|e| err(e.to_string()))?;
        if let Some(named) = comment.and_then(comment_key_id) {
            // minisign writes the id into the comment; a different one there means the
            // file was edited or mixed up, and a person reading it would trust the wrong key.
            if named != u64::from_le_bytes(*key_id) {
                return Err(err(format!(
                    "comment names key {named:016X} but the key's id is {}",
                    key_id_hex(key_id)
                )));
            }
        }
        Ok(MinisignKey {
            key_id: *key_id,
            key,
        })
    }
}

/// The id in minisign's own comment, `untrusted comment: minisign public key <HEX>`. Any
/// other comment names no id and is ignored, as minisign ignores it.
fn comment_key_id(comment: &[u8]) -> Option<u64> {
    let hex = comment
        .strip_prefix(UNTRUSTED_PREFIX)?
        .strip_prefix(b"minisign public key ")?;
    if hex.is_empty() || hex.len() > 16 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

/// Parses a `.minisig` file. Stricter than minisign, which ignores anything after the
/// fourth line and cuts comments at a NUL or stray `\r`: here those are refused, so the
/// trusted comment we report is exactly the text the global signature covers.
pub fn parse_signature(bytes: &[u8]) -> Result<MinisignSignature, SchemeError> {
    let err = |m: String| SchemeError::Signature(m);
    if let Some(m) = too_large(bytes.len(), MAX_SIGNATURE_FILE_BYTES) {
        return Err(err(m));
    }
    let truncated = || err("truncated: a minisign signature file has four lines".into());

    let (untrusted, rest) = split_line(bytes);
    if !untrusted.text.starts_with(UNTRUSTED_PREFIX) {
        return Err(err(
            "line 1 does not start with \"untrusted comment: \" (not a minisign signature)".into(),
        ));
    }
    if untrusted.raw_len > MAX_UNTRUSTED_LINE {
        return Err(err(format!(
            "untrusted comment line is over minisign's {MAX_UNTRUSTED_LINE}-byte limit"
        )));
    }
    if !untrusted.terminated {
        return Err(truncated());
    }

    let (sig_line, rest) = split_line(rest);
    if !sig_line.terminated {
        return Err(truncated());
    }
    let decoded = decode_fixed(sig_line.text, SIG_B64_LEN, "signature").map_err(err)?;
    let parts = decoded
        .split_first_chunk::<2>()
        .and_then(|(alg, rest)| Some((alg, rest.split_first_chunk::<8>()?)))
        .and_then(|(alg, (id, sig))| Some((*alg, *id, <[u8; 64]>::try_from(sig).ok()?)));
    let (Some((alg, key_id, signature)), true) = (parts, decoded.len() == SIG_LEN) else {
        return Err(err("signature has the wrong length".into()));
    };
    let algorithm = match &alg {
        b"Ed" => Algorithm::Legacy,
        b"ED" => Algorithm::Prehashed,
        other => {
            return Err(err(format!(
                "unknown signature algorithm \"{}\" (minisign knows \"Ed\" and \"ED\")",
                other.escape_ascii()
            )));
        }
    };

    let (trusted, rest) = split_line(rest);
    let Some(comment) = trusted.text.strip_prefix(TRUSTED_PREFIX) else {
        return Err(if trusted.raw_len == 0 && !trusted.terminated {
            truncated()
        } else {
            err("line 3 does not start with \"trusted comment: \"".into())
        });
    };
    if trusted.raw_len > MAX_TRUSTED_LINE {
        return Err(err(format!(
            "trusted comment line is over minisign's {MAX_TRUSTED_LINE}-byte limit"
        )));
    }
    if !trusted.terminated {
        return Err(truncated());
    }
    let trusted_comment =
        std::str::from_utf8(comment).map_err(|_| err("trusted comment is not UTF-8".into()))?;
    if let Some(c) = trusted_comment
        .chars()
        .find(|&c| c.is_control() && c != '\t')
    {
        return Err(err(format!(
            "trusted comment contains control character {c:?}"
        )));
    }

    let (global_line, rest) = split_line(rest);
    if global_line.raw_len == 0 && !global_line.terminated {
        return Err(truncated());
    }
    if !rest.is_empty() {
        return Err(err("unexpected data after the fourth line".into()));
    }
    let global =
        decode_fixed(global_line.text, GLOBAL_SIG_B64_LEN, "global signature").map_err(err)?;
    let global_signature = <[u8; 64]>::try_from(global.as_slice())
        .map_err(|_| err("global signature has the wrong length".into()))?;

    Ok(MinisignSignature {
        algorithm,
        key_id,
        signature,
        trusted_comment: trusted_comment.to_owned(),
        global_signature,
    })
}

/// Checks a minisign signature and its trusted comment. For `ED`, `message` may be the
/// file or its BLAKE2b-512 (see [`prehash`]); for `Ed` it must be the file.
pub fn verify(
    key: &MinisignKey,
    sig: &MinisignSignature,
    message: Message<'_>,
) -> Result<(), SchemeError> {
    if key.key_id != sig.key_id {
        return Err(SchemeError::WrongKey {
            expected: key_id_hex(&key.key_id),
            found: key_id_hex(&sig.key_id),
        });
    }
    let hashed;
    let signed: &[u8] = match (sig.algorithm, message) {
        (Algorithm::Legacy, Message::Bytes(b)) => b,
        (Algorithm::Legacy, Message::Digest(_)) => {
            return Err(SchemeError::Policy(
                "legacy minisign signature (\"Ed\") covers the whole file, not a digest: pass the file's bytes".into(),
            ));
        }
        (Algorithm::Prehashed, Message::Bytes(b)) => {
            hashed = blake2b512(b);
            &hashed
        }
        (Algorithm::Prehashed, Message::Digest(d)) => {
            if d.len() != 64 {
                return Err(SchemeError::Policy(format!(
                    "minisign \"ED\" signatures need the 64-byte BLAKE2b-512 of the file, got a {}-byte digest",
                    d.len()
                )));
            }
            d
        }
    };
    let id = key_id_hex(&key.key_id);
    if !key.key.verify_strict(signed, &sig.signature) {
        return Err(SchemeError::BadSignature(format!(
            " (minisign {} signature, key {id})",
            sig.algorithm.as_str()
        )));
    }
    let mut global_msg = Vec::with_capacity(64 + sig.trusted_comment.len());
    global_msg.extend_from_slice(&sig.signature);
    global_msg.extend_from_slice(sig.trusted_comment.as_bytes());
    if !key.key.verify_strict(&global_msg, &sig.global_signature) {
        return Err(SchemeError::BadSignature(format!(
            ": the file's signature is genuine but the trusted comment was altered (global signature fails for key {id})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use blake2::{Blake2b512, Digest};

    // Made with minisign 0.11 on this machine:
    //   minisign -G -W -p k1.pub -s k1.key ; minisign -G -W -p k2.pub -s k2.key
    //   printf 'hello minisign\n' > msg.txt
    const MSG: &[u8] = b"hello minisign\n";
    const KEY1_PUB: &str = "untrusted comment: minisign public key D50D15E7FCA0DFB8
RWS436D85xUN1ZXrLXaDsm0y6vD2h/Zb4bW9q+8j2BdTZfC6ckqIe7sK
";
    const KEY1_BARE: &str = "RWS436D85xUN1ZXrLXaDsm0y6vD2h/Zb4bW9q+8j2BdTZfC6ckqIe7sK";
    const KEY2_PUB: &str = "untrusted comment: minisign public key F7E8D854AEBBFD3B
RWQ7/buuVNjo9zbPb9guhcLEU5fEGQcxgyly5MSEFMhL79tgnvQ5Wybx
";
    // k1.key: a throwaway, unencrypted (-W) secret key, here to be refused as a public key
    // and to sign comments longer than `minisign -S` can write.
    const KEY1_SECRET: &str = "untrusted comment: minisign encrypted secret key
RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAuN+g/OcVDdXb05HRaSeGTGQxV4WZrIvsbRI9HcPh4gSxLW6Mj78y9JXrLXaDsm0y6vD2h/Zb4bW9q+8j2BdTZfC6ckqIe7sKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
";
    // minisign -S -s k1.key -m msg.txt -t "trusted comment"   (prehashed, ED)
    const SIG_ED: &str = "untrusted comment: signature from minisign secret key
RUS436D85xUN1RHz+mRasohLNDHqLxWXr0iXuwsIKhoNkt3cc1H5rftO4ShaaOWXaQkqfUUPSEg2TiqkhEwefaG/Io/kYtl0NgI=
trusted comment: trusted comment
vDC9ByyY31dpwmyXl+jZHkBFoekutECQmNNhyJ4XOi2CdnpzKYWHYrA/sNCrnLKIx7WIMajM5B29cGW8e94hBw==
";
    // minisign -S -l -s k1.key -m msg.txt -t "trusted comment"   (legacy, Ed)
    const SIG_LEGACY: &str = "untrusted comment: signature from minisign secret key
RWS436D85xUN1Q3uTNe4A+UdParUJQR8R4l7O37m/8tL4xF/Sis+ukkbE5LvpUFRFe7iPLLWppxfR8hghqLWlBYQcKNrRSkjVwQ=
trusted comment: trusted comment
jHQTI2PNWxdaNhkWZv5S2I/HyDY7EuYbQwfwOeVNZLngs0oWjtd8xX+/oChfmf/UG3j+0sjxe4uQ4Csy6XxWBg==
";
    // minisign -S -s k1.key -m msg.txt -t "$(printf 'a\ttab')"
    const SIG_TAB: &str = "untrusted comment: signature from minisign secret key
RUS436D85xUN1RHz+mRasohLNDHqLxWXr0iXuwsIKhoNkt3cc1H5rftO4ShaaOWXaQkqfUUPSEg2TiqkhEwefaG/Io/kYtl0NgI=
trusted comment: a\ttab
9SdaeVCLCrOl6y8Jszz8man9GUqcdsyjRVh6TDXC+SwtOwdMpld/rUD5rt+YgZYc0NHzN4XDofmJu6LUIlpkAw==
";
    // printf 'another file\n' > msg2.txt; minisign -S -s k1.key -m msg2.txt -t "trusted comment"
    const SIG_MSG2: &str = "untrusted comment: signature from minisign secret key
RUS436D85xUN1cN/UOb8PDHnKMRjx+sqpYlsCl21C1wWHGSAVTaZLkYRgqm89GZXP75nYZzGWAMHDlM3UhwO8Q72anEb9i4iugk=
trusted comment: trusted comment
rMjCGU8mwBfWCNdc7PsEjFyZcso7hIg9Vby4DlEGTsKGJsi7WFqoxicKLPo805R+/iTV4HOkFfaDb87B/B1VCw==
";
    // minisign -S -s k2.key -m msg.txt -t "trusted comment"
    const SIG_K2: &str = "untrusted comment: signature from minisign secret key
RUQ7/buuVNjo96oBBY+u6VvTZZqzBs5uFSquZtezi8go5F2aWa1Vlo7uLGDv8dbMcxgb2Q7eKRFicTAVBgjV1PFB7TJmpsLrzgs=
trusted comment: trusted comment
LieFeFfeleJZnd/oCgOv/EvrMqdp36bbV9t90Ghhb8ZyPz9X6KR+BFaI6uNjw3cj8MWeBlgHvSY71IAhmqkvDg==
";

    /// The Ed25519 group order L, little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    fn key1() -> MinisignKey {
        MinisignKey::parse(KEY1_PUB.as_bytes()).unwrap()
    }

    fn sig(s: &str) -> MinisignSignature {
        parse_signature(s.as_bytes()).unwrap()
    }

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_owned).collect()
    }

    fn join(l: &[String]) -> String {
        let mut out = l.join("\n");
        out.push('\n');
        out
    }

    /// Decodes line `n` (0-based) of `file`, lets `f` change the bytes, re-encodes.
    fn edit_b64_line(file: &str, n: usize, f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut l = lines(file);
        let mut raw = STANDARD.decode(&l[n]).unwrap();
        f(&mut raw);
        l[n] = STANDARD.encode(&raw);
        join(&l)
    }

    /// Adds L to the little-endian scalar S in the last 32 bytes of `sig`.
    fn add_l(sig: &mut [u8]) {
        let n = sig.len();
        let s = &mut sig[n - 32..];
        let mut carry = 0u16;
        for (b, l) in s.iter_mut().zip(L) {
            let v = u16::from(*b) + u16::from(l) + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0);
    }

    fn assert_one_line(e: &SchemeError) {
        let text = e.to_string();
        assert!(!text.contains('\n') && !text.contains('\r'), "{text:?}");
    }

    #[test]
    fn key_file_and_bare_forms_parse_to_the_same_key() {
        let k = key1();
        assert_eq!(key_id_hex(&k.key_id), "D50D15E7FCA0DFB8");
        assert_eq!(k.key_id, [0xb8, 0xdf, 0xa0, 0xfc, 0xe7, 0x15, 0x0d, 0xd5]);
        assert_eq!(MinisignKey::parse(KEY1_BARE.as_bytes()).unwrap(), k);
        let with_nl = format!("{KEY1_BARE}\n");
        assert_eq!(MinisignKey::parse(with_nl.as_bytes()).unwrap(), k);
        let k2 = MinisignKey::parse(KEY2_PUB.as_bytes()).unwrap();
        assert_eq!(key_id_hex(&k2.key_id), "F7E8D854AEBBFD3B");
        // The key from the brief (minisign's own release key), as passed to `minisign -P`.
        let m = MinisignKey::parse(b"RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3")
            .unwrap();
        assert_eq!(key_id_hex(&m.key_id), "E7620F1842B4E81F");
    }

    #[test]
    fn key_file_with_crlf_is_accepted_like_minisign() {
        let crlf = KEY1_PUB.replace('\n', "\r\n");
        assert_eq!(MinisignKey::parse(crlf.as_bytes()).unwrap(), key1());
        let bare_crlf = format!("{KEY1_BARE}\r\n");
        assert_eq!(MinisignKey::parse(bare_crlf.as_bytes()).unwrap(), key1());
        // No final newline is fine too.
        assert_eq!(
            MinisignKey::parse(KEY1_PUB.trim_end().as_bytes()).unwrap(),
            key1()
        );
    }

    #[test]
    fn malformed_key_files_are_refused() {
        let bad = |input: &[u8]| {
            let e = MinisignKey::parse(input).unwrap_err();
            assert!(matches!(e, SchemeError::Key(_)), "{e:?}");
            assert_one_line(&e);
            e.to_string()
        };
        bad(b"");
        bad(format!("{KEY1_PUB}garbage\n").as_bytes());
        bad(format!("{KEY1_PUB}\n").as_bytes());
        bad(format!("{KEY1_BARE}\n\n").as_bytes());
        bad(format!(" {KEY1_BARE}").as_bytes());
        bad(b"untrusted comment: minisign public key D50D15E7FCA0DFB8\n");
        bad(b"untrusted comment: minisign public key D50D15E7FCA0DFB8");
        bad(&KEY1_BARE.as_bytes()[..55]);
        bad(format!("{KEY1_BARE}=").as_bytes());
        // A stray CR inside the line.
        bad(b"RWS436D85xUN1ZXrLXaDsm0y6vD2h/Zb4bW9q+8j2BdTZfC6ckqIe7s\rK");
        // Huge input is refused before parsing.
        let huge = vec![b'A'; 64 * 1024 + 1];
        assert!(bad(&huge).contains("limit"));
        // Over-long comment line (minisign's own limit).
        let long = format!("untrusted comment: {}\n{KEY1_BARE}\n", "x".repeat(1004));
        assert!(bad(long.as_bytes()).contains("1022"));
        let ok = format!("untrusted comment: {}\n{KEY1_BARE}\n", "x".repeat(1003));
        assert_eq!(MinisignKey::parse(ok.as_bytes()).unwrap(), key1());
    }

    #[test]
    fn key_base64_must_be_canonical() {
        // 42 bytes encode to 56 characters with no padding; the last character carries
        // 6 bits, so there are no spare bits to abuse. Change the alphabet instead.
        let url = KEY1_BARE.replace('/', "_").replace('+', "-");
        assert_ne!(url, KEY1_BARE);
        assert!(MinisignKey::parse(url.as_bytes()).is_err());
    }

    #[test]
    fn secret_key_files_are_refused_clearly() {
        let e = MinisignKey::parse(KEY1_SECRET.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("SECRET"), "{e}");
        // The secret line alone, as someone might paste it.
        let line = KEY1_SECRET.lines().nth(1).unwrap();
        let e = MinisignKey::parse(line.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("SECRET"), "{e}");
        // Nothing of the secret is echoed.
        assert!(!e.to_string().contains(&line[20..40]));
        // A signature is not a key either.
        let e = MinisignKey::parse(SIG_ED.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("signature"), "{e}");
    }

    #[test]
    fn key_algorithm_and_comment_id_are_checked() {
        let edited = edit_b64_line(KEY1_PUB, 1, |k| k[1] = b'D');
        let e = MinisignKey::parse(edited.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("\"ED\""), "{e}");
        // The comment minisign writes names the id; a different one is refused...
        let wrong = KEY1_PUB.replace("D50D15E7FCA0DFB8", "F7E8D854AEBBFD3B");
        let e = MinisignKey::parse(wrong.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("F7E8D854AEBBFD3B"), "{e}");
        // ...older minisign did not zero-pad or might be lowercase: same id, accepted...
        let lower = KEY1_PUB.replace("D50D15E7FCA0DFB8", "d50d15e7fca0dfb8");
        assert_eq!(MinisignKey::parse(lower.as_bytes()).unwrap(), key1());
        // ...and any other comment is ignored, as minisign ignores it.
        let other = KEY1_PUB.replace("minisign public key D50D15E7FCA0DFB8", "release key");
        assert_eq!(MinisignKey::parse(other.as_bytes()).unwrap(), key1());
    }

    #[test]
    fn small_order_and_invalid_points_are_refused() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut raw = b"Ed".to_vec();
        raw.extend_from_slice(&[0xb8, 0xdf, 0xa0, 0xfc, 0xe7, 0x15, 0x0d, 0xd5]);
        raw.extend_from_slice(&identity);
        let file = format!("untrusted comment: x\n{}\n", STANDARD.encode(&raw));
        let e = MinisignKey::parse(file.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("weak"), "{e}");
        // y = p (non-canonical encoding of y = 0).
        let mut noncanon = [0xffu8; 32];
        noncanon[0] = 0xed;
        noncanon[31] = 0x7f;
        raw.truncate(10);
        raw.extend_from_slice(&noncanon);
        let file = format!("untrusted comment: x\n{}\n", STANDARD.encode(&raw));
        assert!(matches!(
            MinisignKey::parse(file.as_bytes()),
            Err(SchemeError::Key(_))
        ));
    }

    #[test]
    fn signatures_parse() {
        let s = sig(SIG_ED);
        assert_eq!(s.algorithm, Algorithm::Prehashed);
        assert_eq!(prehash(&s), Prehash::Blake2b512);
        assert_eq!(key_id_hex(&s.key_id), "D50D15E7FCA0DFB8");
        assert_eq!(s.trusted_comment, "trusted comment");
        let l = sig(SIG_LEGACY);
        assert_eq!(l.algorithm, Algorithm::Legacy);
        assert_eq!(prehash(&l), Prehash::None);
        assert_eq!(sig(SIG_TAB).trusted_comment, "a\ttab");
    }

    #[test]
    fn genuine_signatures_verify() {
        let k = key1();
        verify(&k, &sig(SIG_ED), Message::Bytes(MSG)).unwrap();
        verify(&k, &sig(SIG_LEGACY), Message::Bytes(MSG)).unwrap();
        verify(&k, &sig(SIG_TAB), Message::Bytes(MSG)).unwrap();
        verify(&k, &sig(SIG_MSG2), Message::Bytes(b"another file\n")).unwrap();
        let k2 = MinisignKey::parse(KEY2_PUB.as_bytes()).unwrap();
        verify(&k2, &sig(SIG_K2), Message::Bytes(MSG)).unwrap();
    }

    #[test]
    fn prehashed_signatures_verify_from_a_streamed_digest() {
        let mut h = Blake2b512::new();
        for chunk in MSG.chunks(4) {
            h.update(chunk);
        }
        let digest: [u8; 64] = h.finalize().into();
        assert_eq!(digest, blake2b512(MSG));
        verify(&key1(), &sig(SIG_ED), Message::Digest(&digest)).unwrap();
        let mut wrong = digest;
        wrong[0] ^= 1;
        assert!(matches!(
            verify(&key1(), &sig(SIG_ED), Message::Digest(&wrong)),
            Err(SchemeError::BadSignature(_))
        ));
        // A digest of the wrong size is a caller error, not a bad signature.
        let e = verify(&key1(), &sig(SIG_ED), Message::Digest(&digest[..32])).unwrap_err();
        assert!(matches!(e, SchemeError::Policy(_)), "{e:?}");
    }

    #[test]
    fn legacy_signatures_need_the_whole_message() {
        let digest = blake2b512(MSG);
        let e = verify(&key1(), &sig(SIG_LEGACY), Message::Digest(&digest)).unwrap_err();
        assert!(matches!(e, SchemeError::Policy(_)), "{e:?}");
        assert_one_line(&e);
    }

    #[test]
    fn tampered_message_or_signature_fails() {
        let k = key1();
        for s in [SIG_ED, SIG_LEGACY] {
            let mut m = MSG.to_vec();
            m[0] ^= 1;
            assert!(matches!(
                verify(&k, &sig(s), Message::Bytes(&m)),
                Err(SchemeError::BadSignature(_))
            ));
            assert!(verify(&k, &sig(s), Message::Bytes(&MSG[..MSG.len() - 1])).is_err());
            for i in [10, 40, 73] {
                let t = edit_b64_line(s, 1, |b| b[i] ^= 0x20);
                let e = verify(&k, &sig(&t), Message::Bytes(MSG)).unwrap_err();
                assert!(matches!(e, SchemeError::BadSignature(_)), "{e:?}");
                assert!(!e.to_string().contains("trusted comment"), "{e}");
            }
        }
    }

    #[test]
    fn altered_trusted_comment_is_refused_as_such() {
        let k = key1();
        for s in [SIG_ED, SIG_LEGACY] {
            let t = s.replace(
                "trusted comment: trusted comment",
                "trusted comment: trusted commenT",
            );
            assert_ne!(t, s);
            let e = verify(&k, &sig(&t), Message::Bytes(MSG)).unwrap_err();
            assert!(matches!(e, SchemeError::BadSignature(_)), "{e:?}");
            assert!(e.to_string().contains("trusted comment was altered"), "{e}");
            assert_one_line(&e);
            // A trailing space is an alteration too.
            let t = s.replace(
                "trusted comment: trusted comment",
                "trusted comment: trusted comment ",
            );
            assert!(verify(&k, &sig(&t), Message::Bytes(MSG)).is_err());
        }
    }

    #[test]
    fn swapped_global_signature_is_refused() {
        let k = key1();
        // Same key, same comment, other file: the global signature binds the signature.
        let mut l = lines(SIG_ED);
        l[3] = lines(SIG_MSG2)[3].clone();
        let e = verify(&k, &sig(&join(&l)), Message::Bytes(MSG)).unwrap_err();
        assert!(e.to_string().contains("trusted comment was altered"), "{e}");
        // The legacy file's global signature on the prehashed file.
        let mut l = lines(SIG_ED);
        l[3] = lines(SIG_LEGACY)[3].clone();
        assert!(verify(&k, &sig(&join(&l)), Message::Bytes(MSG)).is_err());
        // Flipped byte in the global signature.
        let t = edit_b64_line(SIG_ED, 3, |b| b[5] ^= 1);
        assert!(verify(&k, &sig(&t), Message::Bytes(MSG)).is_err());
    }

    #[test]
    fn wrong_key_is_reported_with_minisign_ids() {
        let k2 = MinisignKey::parse(KEY2_PUB.as_bytes()).unwrap();
        let e = verify(&k2, &sig(SIG_ED), Message::Bytes(MSG)).unwrap_err();
        assert_eq!(
            e,
            SchemeError::WrongKey {
                expected: "F7E8D854AEBBFD3B".into(),
                found: "D50D15E7FCA0DFB8".into(),
            }
        );
        // Signature relabelled with k2's id: the id matches, the signature does not.
        let relabelled = edit_b64_line(SIG_ED, 1, |b| b[2..10].copy_from_slice(&k2.key_id));
        assert!(matches!(
            verify(&k2, &sig(&relabelled), Message::Bytes(MSG)),
            Err(SchemeError::BadSignature(_))
        ));
        // k2's genuine signature relabelled with k1's id fails under k1.
        let k1 = key1();
        let relabelled = edit_b64_line(SIG_K2, 1, |b| b[2..10].copy_from_slice(&k1.key_id));
        assert!(matches!(
            verify(&k1, &sig(&relabelled), Message::Bytes(MSG)),
            Err(SchemeError::BadSignature(_))
        ));
    }

    #[test]
    fn non_canonical_s_is_refused() {
        let k = key1();
        for s in [SIG_ED, SIG_LEGACY] {
            let t = edit_b64_line(s, 1, |b| add_l(b));
            assert_ne!(sig(&t).signature, sig(s).signature);
            assert!(matches!(
                verify(&k, &sig(&t), Message::Bytes(MSG)),
                Err(SchemeError::BadSignature(_))
            ));
            let t = edit_b64_line(s, 3, |b| add_l(b));
            let e = verify(&k, &sig(&t), Message::Bytes(MSG)).unwrap_err();
            assert!(e.to_string().contains("trusted comment"), "{e}");
        }
    }

    #[test]
    fn algorithm_byte_flips_are_caught() {
        let k = key1();
        // ED presented as Ed: the global signature does not cover the algorithm bytes, so
        // only the main signature (over the hash, not the file) can catch this.
        let t = edit_b64_line(SIG_ED, 1, |b| b[1] = b'd');
        let s = sig(&t);
        assert_eq!(s.algorithm, Algorithm::Legacy);
        assert!(matches!(
            verify(&k, &s, Message::Bytes(MSG)),
            Err(SchemeError::BadSignature(_))
        ));
        // Even when the attacker supplies the hash as the "file".
        let digest = blake2b512(MSG);
        assert!(verify(&k, &s, Message::Digest(&digest)).is_err());
        // Ed presented as ED.
        let t = edit_b64_line(SIG_LEGACY, 1, |b| b[1] = b'D');
        assert_eq!(sig(&t).algorithm, Algorithm::Prehashed);
        assert!(verify(&k, &sig(&t), Message::Bytes(MSG)).is_err());
        // Unknown algorithms are refused at parse time.
        let t = edit_b64_line(SIG_ED, 1, |b| b[1] = b'x');
        let e = parse_signature(t.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("\"Ex\""), "{e}");
    }

    #[test]
    fn line_endings_like_minisign() {
        let k = key1();
        let crlf = SIG_ED.replace('\n', "\r\n");
        verify(&k, &sig(&crlf), Message::Bytes(MSG)).unwrap();
        assert_eq!(sig(&crlf), sig(SIG_ED));
        let no_final = SIG_ED.trim_end();
        verify(&k, &sig(no_final), Message::Bytes(MSG)).unwrap();
    }

    #[test]
    fn malformed_signature_files_are_refused() {
        let bad = |input: &[u8]| {
            let e = parse_signature(input).unwrap_err();
            assert!(matches!(e, SchemeError::Signature(_)), "{e:?}");
            assert_one_line(&e);
            e.to_string()
        };
        // Trailing garbage, which minisign would ignore.
        bad(format!("{SIG_ED}garbage\n").as_bytes());
        bad(format!("{SIG_ED}\n").as_bytes());
        // Truncations at every line and inside lines.
        let l = lines(SIG_ED);
        for n in 0..4 {
            let t = l[..n].iter().map(|x| format!("{x}\n")).collect::<String>();
            assert!(bad(t.as_bytes()).contains("truncated") || n == 0);
        }
        bad(&SIG_ED.as_bytes()[..SIG_ED.len() - 10]);
        bad(b"");
        // Line 3 without its newline (minisign refuses that too).
        bad(format!("{}\n{}\n{}", l[0], l[1], l[2]).as_bytes());
        // Wrong prefixes.
        bad(SIG_ED
            .replace("untrusted comment:", "untrusted comment -")
            .as_bytes());
        bad(SIG_ED
            .replace("trusted comment: trusted", "Trusted comment: trusted")
            .as_bytes());
        // Swapped lines.
        bad(join(&[l[0].clone(), l[3].clone(), l[2].clone(), l[1].clone()]).as_bytes());
        // Huge input.
        let mut huge = SIG_ED.as_bytes().to_vec();
        huge.resize(64 * 1024 + 1, b'A');
        assert!(bad(&huge).contains("limit"));
        // A lone CR inside a line is not a line ending.
        let mut cr = l.clone();
        cr[1].insert(50, '\r');
        bad(join(&cr).as_bytes());
        // The signature line with the wrong decoded length.
        let mut short = l.clone();
        short[1] = STANDARD.encode(&STANDARD.decode(&l[1]).unwrap()[..73]);
        bad(join(&short).as_bytes());
    }

    #[test]
    fn signature_base64_must_be_canonical() {
        // 64 bytes end in "==", so the last data character has 4 unused bits; setting
        // one gives another string that lenient decoders map to the same bytes.
        let mut l = lines(SIG_ED);
        let g = &l[3];
        let last = g.as_bytes()[85];
        assert_eq!(&g[86..], "==");
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let idx = alphabet.iter().position(|&c| c == last).unwrap();
        assert_eq!(idx & 0x0f, 0);
        let mut noncanon = g.clone().into_bytes();
        noncanon[85] = alphabet[idx | 1];
        l[3] = String::from_utf8(noncanon).unwrap();
        let e = parse_signature(join(&l).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("canonical"), "{e}");
        // Unpadded.
        let mut l = lines(SIG_ED);
        l[3].truncate(86);
        assert!(parse_signature(join(&l).as_bytes()).is_err());
    }

    #[test]
    fn comment_lengths_follow_minisign_limits() {
        let l = lines(SIG_ED);
        let with_untrusted = |n: usize| {
            let mut m = l.clone();
            m[0] = format!(
                "untrusted comment: {}",
                "x".repeat(n - UNTRUSTED_PREFIX.len())
            );
            join(&m)
        };
        // Checked against minisign 0.11: a 1022-byte line verifies, 1023 is "too long".
        verify(&key1(), &sig(&with_untrusted(1022)), Message::Bytes(MSG)).unwrap();
        let e = parse_signature(with_untrusted(1023).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("1022"), "{e}");

        let with_trusted = |n: usize| {
            let mut m = l.clone();
            m[2] = format!("trusted comment: {}", "y".repeat(n));
            join(&m)
        };
        // Parses (and would verify if signed); the global signature then fails.
        assert_eq!(sig(&with_trusted(8173)).trusted_comment.len(), 8173);
        assert!(verify(&key1(), &sig(&with_trusted(8173)), Message::Bytes(MSG)).is_err());
        let e = parse_signature(with_trusted(8174).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("8190"), "{e}");
    }

    /// Signs like `minisign -S` with the throwaway KEY1_SECRET (unencrypted, so its seed
    /// is readable), for trusted comments `minisign -S` itself cannot write: its signer
    /// stops near 4 KiB while its verifier reads up to 8173 bytes.
    fn sign_like_minisign(message: &[u8], trusted_comment: &str) -> String {
        let sk = STANDARD
            .decode(KEY1_SECRET.lines().nth(1).unwrap())
            .unwrap();
        assert_eq!((sk.len(), &sk[2..4]), (158, &[0u8, 0][..]));
        let key = crate::keys::SecretKey::from_seed(sk[62..94].try_into().unwrap()).unwrap();
        let mut raw = b"ED".to_vec();
        raw.extend_from_slice(&sk[54..62]);
        let sig = key.sign(&blake2b512(message));
        raw.extend_from_slice(&sig);
        let mut global_msg = sig.to_vec();
        global_msg.extend_from_slice(trusted_comment.as_bytes());
        let global = key.sign(&global_msg);
        format!(
            "untrusted comment: made in a test\n{}\ntrusted comment: {trusted_comment}\n{}\n",
            STANDARD.encode(&raw),
            STANDARD.encode(global)
        )
    }

    #[test]
    fn longest_trusted_comment_minisign_reads_verifies() {
        // The longest comment, ending in multi-byte UTF-8 to check we count bytes. Both
        // files were checked with `minisign -V`: it accepts the first and says "Trusted
        // comment too long" for the second.
        let comment = format!("{}é", "z".repeat(8171));
        assert_eq!(comment.len(), 8173);
        let file = sign_like_minisign(MSG, &comment);
        verify(&key1(), &sig(&file), Message::Bytes(MSG)).unwrap();
        assert_eq!(sig(&file).trusted_comment, comment);
        let longer = sign_like_minisign(MSG, &format!("{comment}z"));
        assert!(parse_signature(longer.as_bytes()).is_err());
    }

    #[test]
    fn trusted_comment_must_be_plain_text() {
        let l = lines(SIG_ED);
        for bad in ["a\0b", "a\rb", "\x1b[31mred", "del\x7f", "c1\u{9b}31m"] {
            let mut m = l.clone();
            m[2] = format!("trusted comment: {bad}");
            let e = parse_signature(join(&m).as_bytes()).unwrap_err();
            assert!(e.to_string().contains("control"), "{e}");
            assert_one_line(&e);
        }
        let mut raw = SIG_ED.as_bytes().to_vec();
        let at = SIG_ED.find("trusted comment: trusted").unwrap() + 17;
        raw[at] = 0xff;
        let e = parse_signature(&raw).unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        // Tabs are what minisign's default comment uses.
        assert!(parse_signature(SIG_TAB.as_bytes()).is_ok());
    }
}
