//! OpenBSD signify: public keys, detached and embedded (`-e`) signatures, Ed25519 only.
//!
//! A signify file is two lines, `untrusted comment: <text>` and one base64 blob, optionally
//! followed (embedded signatures) by the signed message itself. signify is lenient in ways
//! that let one key or signature have many spellings (whitespace inside the base64, CR line
//! ends, junk after a key); here every file has exactly one accepted spelling, and the
//! signature is only ever accepted through `PublicKey::verify_strict`, which also refuses
//! the non-canonical `S + L` that signify itself accepts.

use crate::keys::PublicKey;
use crate::schemes::{SchemeError, strict_base64};

/// signify's only public-key algorithm tag.
const PKALG: &[u8; 2] = b"Ed";
/// The KDF tag right after `Ed` in a secret key file; seeing it means the user handed over
/// the wrong half of the key pair, which deserves its own message.
const KDFALG: &[u8; 2] = b"BK";
const COMMENT_HDR: &str = "untrusted comment: ";
/// signify copies the comment into a 1024-byte buffer including the NUL, so the longest
/// comment it writes (and accepts when it checks) is 1023 bytes.
pub const MAX_COMMENT_BYTES: usize = 1023;
/// Decoded sizes: `Ed` || keynum(8) || pk(32), and `Ed` || keynum(8) || sig(64).
const PUBKEY_LEN: usize = 2 + 8 + 32;
const SIG_LEN: usize = 2 + 8 + 64;
/// `Ed` `BK` rounds(4) salt(16) checksum(8) keynum(8) seckey(64).
const SECKEY_LEN: usize = 2 + 2 + 4 + 16 + 8 + 8 + 64;
/// Longest base64 line looked at before giving up: the 140 characters of a secret key must
/// still fit, so that it can be recognised and named as such.
const MAX_B64_LINE: usize = 256;

/// A signify public key that passed the strict Ed25519 key checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignifyKey {
    pub keynum: [u8; 8],
    pub key: PublicKey,
    pub comment: String,
}

/// A signify signature; the message it covers comes separately (detached) or from the same
/// file (embedded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignifySignature {
    pub keynum: [u8; 8],
    pub signature: [u8; 64],
    pub comment: String,
}

/// Key numbers are how signify names keys to humans (`signify -V` prints nothing else), so
/// errors show them in the same lowercase hex.
pub fn keynum_hex(k: &[u8; 8]) -> String {
    hex::encode(k)
}

/// Shortens untrusted text for an error message and quotes it, so a hostile file cannot
/// flood a report or inject line breaks into it.
fn quoted(bytes: &[u8]) -> String {
    const MAX: usize = 48;
    let shown = bytes.get(..MAX).unwrap_or(bytes);
    let text = String::from_utf8_lossy(shown);
    if bytes.len() > MAX {
        format!("{text:?}...")
    } else {
        format!("{text:?}")
    }
}

/// The two header lines of a signify file, and what follows them.
struct Parsed<'a> {
    comment: String,
    decoded: Vec<u8>,
    rest: &'a [u8],
}

/// Splits off and checks the comment line and the base64 line. `err` builds the
/// file-kind-specific error (key or signature).
fn parse_header(bytes: &[u8], err: fn(String) -> SchemeError) -> Result<Parsed<'_>, SchemeError> {
    let max_first = COMMENT_HDR.len() + MAX_COMMENT_BYTES;
    let window = bytes.get(..max_first + 1).unwrap_or(bytes);
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        return Err(if bytes.len() > max_first {
            err(format!(
                "first line is longer than {max_first} bytes (comment over {MAX_COMMENT_BYTES} bytes?)"
            ))
        } else if bytes.is_empty() {
            err("file is empty".into())
        } else {
            err("file ends before the end of its first line".into())
        });
    };
    let (first, after) = bytes.split_at(nl);
    let after = after.get(1..).unwrap_or_default();
    let Some(comment) = first.strip_prefix(COMMENT_HDR.as_bytes()) else {
        return Err(err(format!(
            "first line must start with {COMMENT_HDR:?}, found {}",
            quoted(first)
        )));
    };
    if comment.is_empty() {
        // signify refuses an empty comment too ("invalid comment").
        return Err(err("the untrusted comment is empty".into()));
    }
    if comment.last() == Some(&b'\r') {
        return Err(err("CRLF line endings are not accepted".into()));
    }
    let comment = std::str::from_utf8(comment)
        .map_err(|_| err("the untrusted comment is not UTF-8".into()))?;
    if comment.chars().any(char::is_control) {
        return Err(err(format!(
            "the untrusted comment contains control characters: {}",
            quoted(comment.as_bytes())
        )));
    }

    let window = after.get(..MAX_B64_LINE + 1).unwrap_or(after);
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        return Err(if after.len() > MAX_B64_LINE {
            err(format!("second line is longer than {MAX_B64_LINE} bytes"))
        } else {
            err("second line (base64) is missing or has no final newline".into())
        });
    };
    let (line, rest) = after.split_at(nl);
    let rest = rest.get(1..).unwrap_or_default();
    if line.last() == Some(&b'\r') {
        return Err(err("CRLF line endings are not accepted".into()));
    }
    let decoded = std::str::from_utf8(line)
        .ok()
        .and_then(strict_base64)
        .ok_or_else(|| {
            err(format!(
                "second line is not strict standard base64: {}",
                quoted(line)
            ))
        })?;
    Ok(Parsed {
        comment: comment.to_owned(),
        decoded,
        rest,
    })
}

fn first8(bytes: &[u8]) -> Option<[u8; 8]> {
    bytes.get(2..10)?.try_into().ok()
}

impl SignifyKey {
    /// Parses a `.pub` file exactly as signify writes it: two lines and nothing after.
    pub fn parse(bytes: &[u8]) -> Result<SignifyKey, SchemeError> {
        parse(bytes)
    }
}

/// Parses a signify public key file (`signify -G -p`).
pub fn parse(bytes: &[u8]) -> Result<SignifyKey, SchemeError> {
    let p = parse_header(bytes, SchemeError::Key)?;
    let d = &p.decoded;
    if d.get(..2) == Some(PKALG) && d.get(2..4) == Some(KDFALG) && d.len() == SECKEY_LEN {
        return Err(SchemeError::Key(
            "this is a secret key (signify -G -s file); give the public key (.pub) instead".into(),
        ));
    }
    if d.len() == SIG_LEN && d.get(..2) == Some(PKALG) {
        return Err(SchemeError::Key(
            "this is a signature, not a public key (decodes to 74 bytes)".into(),
        ));
    }
    if d.len() != PUBKEY_LEN {
        return Err(SchemeError::Key(format!(
            "decodes to {} bytes; a signify public key is {PUBKEY_LEN}",
            d.len()
        )));
    }
    if d.get(..2) != Some(PKALG) {
        return Err(SchemeError::Key(format!(
            "unsupported algorithm {}; only Ed25519 (\"Ed\") exists",
            quoted(d.get(..2).unwrap_or_default())
        )));
    }
    if !p.rest.is_empty() {
        return Err(SchemeError::Key(format!(
            "{} unexpected bytes after the key",
            p.rest.len()
        )));
    }
    let keynum = first8(d).ok_or_else(|| SchemeError::Key("truncated key".into()))?;
    let pk: [u8; 32] = d
        .get(10..42)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| SchemeError::Key("truncated key".into()))?;
    let key = PublicKey::from_bytes(&pk)
        .map_err(|e| SchemeError::Key(format!("signify key {}: {e}", keynum_hex(&keynum))))?;
    Ok(SignifyKey {
        keynum,
        key,
        comment: p.comment,
    })
}

/// Parses a signify signature file. Returns the signature and the embedded message: the
/// bytes after the second line, empty for a detached `.sig`. A caller checking a detached
/// signature should insist that this is empty (signify ignores such trailing bytes; here
/// they must not pass unnoticed), see [`parse_detached`].
pub fn parse_signature(bytes: &[u8]) -> Result<(SignifySignature, &[u8]), SchemeError> {
    let p = parse_header(bytes, SchemeError::Signature)?;
    let d = &p.decoded;
    if d.len() == PUBKEY_LEN && d.get(..2) == Some(PKALG) {
        return Err(SchemeError::Signature(
            "this is a public key, not a signature (decodes to 42 bytes)".into(),
        ));
    }
    if d.get(..2) == Some(PKALG) && d.get(2..4) == Some(KDFALG) && d.len() == SECKEY_LEN {
        return Err(SchemeError::Signature(
            "this is a secret key, not a signature".into(),
        ));
    }
    if d.len() != SIG_LEN {
        return Err(SchemeError::Signature(format!(
            "decodes to {} bytes; a signify signature is {SIG_LEN}",
            d.len()
        )));
    }
    if d.get(..2) != Some(PKALG) {
        return Err(SchemeError::Signature(format!(
            "unsupported algorithm {}; only Ed25519 (\"Ed\") exists",
            quoted(d.get(..2).unwrap_or_default())
        )));
    }
    let keynum = first8(d).ok_or_else(|| SchemeError::Signature("truncated signature".into()))?;
    let signature: [u8; 64] = d
        .get(10..74)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| SchemeError::Signature("truncated signature".into()))?;
    Ok((
        SignifySignature {
            keynum,
            signature,
            comment: p.comment,
        },
        p.rest,
    ))
}

/// Parses a detached signature and refuses anything after its two lines, which signify
/// would silently ignore.
pub fn parse_detached(bytes: &[u8]) -> Result<SignifySignature, SchemeError> {
    let (sig, rest) = parse_signature(bytes)?;
    if !rest.is_empty() {
        return Err(SchemeError::Signature(format!(
            "{} unexpected bytes after a detached signature (an embedded -e signature?)",
            rest.len()
        )));
    }
    Ok(sig)
}

/// Checks `sig` over `message` (the whole file for a detached signature, the embedded part
/// for `-e`). The key number is compared first only to give a useful error; it carries no
/// security weight, the Ed25519 check does.
pub fn verify(key: &SignifyKey, sig: &SignifySignature, message: &[u8]) -> Result<(), SchemeError> {
    if key.keynum != sig.keynum {
        return Err(SchemeError::WrongKey {
            expected: keynum_hex(&key.keynum),
            found: keynum_hex(&sig.keynum),
        });
    }
    if key.key.verify_strict(message, &sig.signature) {
        Ok(())
    } else {
        Err(SchemeError::BadSignature(format!(
            " (signify key {})",
            keynum_hex(&key.keynum)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by `signify-openbsd -G -n -p k.pub -s k.sec -c "mirrorproof test key"`
    // (Debian signify-openbsd 31-3).
    const PUB: &str = "untrusted comment: mirrorproof test key public key\n\
RWQw+Q4IcVpV+OYhIGXmHOG7I+8cjucfyJndp7uKXP4+fsXi2NJcNJ2l\n";
    const SEC: &str = "untrusted comment: mirrorproof test key secret key\n\
RWRCSwAAAAD0qkcBbWm2SQj9KQnCHLMPuHYcGyhd3Q0w+Q4IcVpV+B5nxcy5qmg0838+EzVRoK/RU1h+WPEBvlRU2lrtNANx5iEgZeYc4bsj7xyO5x/Imd2nu4pc/j5+xeLY0lw0naU=\n";
    const KEYNUM: &str = "30f90e08715a55f8";
    // `signify-openbsd -G -n -p k2.pub -s k2.sec`
    const PUB2: &str = "untrusted comment: signify public key\n\
RWTJlyHpNLCYLp5M8asFRby96faOCbnxi/Cyel/a5kF612NQyQ1/JWzR\n";

    const MSG: &[u8] = b"hello signify\n";
    // `signify-openbsd -S -s k.sec -m msg.txt -x msg.txt.sig` (msg.txt = MSG)
    const SIG: &str = "untrusted comment: verify with k.pub\n\
RWQw+Q4IcVpV+IZuTnyGmDLk5g2z2/rlOoD9rTHyACUKOoxXLpxMUSnoSTnShgXVisC2jcpy1yR9faPBIy0unFafL+QNEz1+hw4=\n";
    // The same file signed with k2: `signify-openbsd -S -s k2.sec -m msg.txt -x msg2.sig`
    const SIG_K2: &str = "untrusted comment: verify with k2.pub\n\
RWTJlyHpNLCYLollPLzAydU1X9ITsYd8PAkk64pMwyeGwUyeki7ub6mdSK52Rrez0ZFJe87F53BXeNvlnTR4nWXP500n74cZdAs=\n";
    // An empty file: `signify-openbsd -S -s k.sec -m empty -x empty.sig`
    const SIG_EMPTY: &str = "untrusted comment: verify with k.pub\n\
RWQw+Q4IcVpV+Kz0n5Iitwh/28CJ9n2WUbyoTKVxCoAItTgkRI4q7IyAyQXG5aUox4FXiuNb7QbqdL98Vzn7YxQMxGQK2BlDvAE=\n";
    // `sha256sum --tag INSTALL.amd64 bsd bsd.rd > SHA256` then
    // `signify-openbsd -S -e -s k.sec -m SHA256 -x SHA256.sig`
    const EMBEDDED: &str = "untrusted comment: verify with k.pub\n\
RWQw+Q4IcVpV+PcaDUuhaojDIV37jBatw9Tah8/3xOr/0HVMHn/d19OFSEgbtoUHJdGvmDPBLTjVtkyNV3YboA4jxDG9luesdwM=\n\
SHA256 (INSTALL.amd64) = 500a2792ea3bc0ba61c6fa88a1bdf7fd975fe25a0b53b1cc7fda7d5b85244926\n\
SHA256 (bsd) = e3cb29d6a1f1aa3ec5625337880440fbf80c48a3a84b8122befeb1bd82e93644\n\
SHA256 (bsd.rd) = ed254a0b4eea86408909d215060136d7731dbe83a1cf39160ef3c3ad1b316783\n";

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn decoded_line(file: &str) -> Vec<u8> {
        strict_base64(file.lines().nth(1).unwrap()).unwrap()
    }

    fn rebuild(file: &str, raw: &[u8]) -> String {
        let mut lines: Vec<String> = file.split('\n').map(str::to_owned).collect();
        lines[1] = b64(raw);
        lines.join("\n")
    }

    /// Adds the group order L to the little-endian scalar S: the same point equation
    /// holds, so a lax verifier accepts it.
    fn add_l(s: &mut [u8]) {
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (b, l) in s.iter_mut().zip(L) {
            let v = *b as u16 + l as u16 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0);
    }

    #[test]
    fn real_key_parses() {
        let k = parse(PUB.as_bytes()).unwrap();
        assert_eq!(keynum_hex(&k.keynum), KEYNUM);
        assert_eq!(k.comment, "mirrorproof test key public key");
        assert_eq!(
            k.key.to_hex(),
            "e6212065e61ce1bb23ef1c8ee71fc899dda7bb8a5cfe3e7ec5e2d8d25c349da5"
        );
        assert_eq!(SignifyKey::parse(PUB.as_bytes()).unwrap(), k);
    }

    #[test]
    fn detached_signature_verifies_and_tampering_fails() {
        let k = parse(PUB.as_bytes()).unwrap();
        let (s, rest) = parse_signature(SIG.as_bytes()).unwrap();
        assert!(rest.is_empty());
        assert_eq!(s.comment, "verify with k.pub");
        assert_eq!(keynum_hex(&s.keynum), KEYNUM);
        verify(&k, &s, MSG).unwrap();
        assert_eq!(parse_detached(SIG.as_bytes()).unwrap(), s);

        // Flipped message byte.
        let mut m = MSG.to_vec();
        m[0] ^= 1;
        assert!(matches!(
            verify(&k, &s, &m),
            Err(SchemeError::BadSignature(_))
        ));
        // Flipped signature bytes (R and S halves).
        for i in [0, 40, 63] {
            let mut bad = s.clone();
            bad.signature[i] ^= 0x01;
            assert!(
                matches!(verify(&k, &bad, MSG), Err(SchemeError::BadSignature(_))),
                "byte {i}"
            );
        }
        // Empty message signature.
        let (se, _) = parse_signature(SIG_EMPTY.as_bytes()).unwrap();
        verify(&k, &se, b"").unwrap();
        assert!(verify(&k, &se, MSG).is_err());
    }

    #[test]
    fn flipped_key_byte_fails() {
        let s = parse_detached(SIG.as_bytes()).unwrap();
        let mut raw = decoded_line(PUB);
        raw[20] ^= 0x04;
        match parse(rebuild(PUB, &raw).as_bytes()) {
            // Either the flipped bytes are not a valid key at all, or a different key.
            Err(SchemeError::Key(_)) => {}
            Ok(k) => assert!(matches!(
                verify(&k, &s, MSG),
                Err(SchemeError::BadSignature(_))
            )),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn embedded_signature_verifies() {
        let k = parse(PUB.as_bytes()).unwrap();
        let (s, msg) = parse_signature(EMBEDDED.as_bytes()).unwrap();
        assert!(msg.starts_with(b"SHA256 (INSTALL.amd64) = 500a"));
        assert!(msg.ends_with(b"316783\n"));
        verify(&k, &s, msg).unwrap();
        // The embedded list, changed by one digit, fails.
        let tampered = EMBEDDED.replace("= e3cb", "= e3cc");
        let (s2, msg2) = parse_signature(tampered.as_bytes()).unwrap();
        assert!(matches!(
            verify(&k, &s2, msg2),
            Err(SchemeError::BadSignature(_))
        ));
        // An embedded signature is not a detached one.
        let e = parse_detached(EMBEDDED.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("unexpected bytes"), "{e}");
    }

    #[test]
    fn wrong_key_is_named_by_keynum() {
        let k = parse(PUB.as_bytes()).unwrap();
        let k2 = parse(PUB2.as_bytes()).unwrap();
        let s2 = parse_detached(SIG_K2.as_bytes()).unwrap();
        verify(&k2, &s2, MSG).unwrap();
        let e = verify(&k, &s2, MSG).unwrap_err();
        assert_eq!(
            e,
            SchemeError::WrongKey {
                expected: KEYNUM.into(),
                found: "c99721e934b0982e".into(),
            }
        );
        assert!(e.to_string().contains("c99721e934b0982e"));
        // A k2 signature relabelled with k's keynum gets past the label, not the check.
        let mut forged = s2.clone();
        forged.keynum = k.keynum;
        assert!(matches!(
            verify(&k, &forged, MSG),
            Err(SchemeError::BadSignature(_))
        ));
    }

    #[test]
    fn s_plus_l_is_rejected() {
        // signify-openbsd 31 prints "Signature Verified" for this file; we must not.
        let k = parse(PUB.as_bytes()).unwrap();
        let mut raw = decoded_line(SIG);
        add_l(&mut raw[42..74]);
        let file = rebuild(SIG, &raw);
        let (s, _) = parse_signature(file.as_bytes()).unwrap();
        assert_ne!(
            s.signature,
            parse_detached(SIG.as_bytes()).unwrap().signature
        );
        assert!(matches!(
            verify(&k, &s, MSG),
            Err(SchemeError::BadSignature(_))
        ));
    }

    #[test]
    fn small_order_key_is_refused() {
        let mut raw = decoded_line(PUB);
        // The identity point: y = 1.
        raw[10..42].copy_from_slice(&[0; 32]);
        raw[10] = 1;
        let e = parse(rebuild(PUB, &raw).as_bytes()).unwrap_err();
        assert!(matches!(e, SchemeError::Key(_)));
        assert!(e.to_string().contains("weak"), "{e}");
    }

    #[test]
    fn secret_key_is_named() {
        let e = parse(SEC.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("this is a secret key"), "{e}");
        let e = parse_signature(SEC.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("secret key"), "{e}");
    }

    #[test]
    fn key_and_signature_are_not_interchangeable() {
        let e = parse(SIG.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("signature"), "{e}");
        let e = parse_signature(PUB.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("public key"), "{e}");
    }

    #[test]
    fn malformed_files_are_refused() {
        let bad: Vec<(String, &str)> =
            vec![
            (String::new(), "empty"),
            (PUB.replace('\n', "\r\n"), "CRLF"),
            (PUB.replacen("untrusted comment: ", "Untrusted comment: ", 1), "start with"),
            (PUB.replacen("untrusted comment: ", "untrusted comment:", 1), "start with"),
            (
                "untrusted comment: \nRWQw+Q4IcVpV+OYhIGXmHOG7I+8cjucfyJndp7uKXP4+fsXi2NJcNJ2l\n"
                    .into(),
                "empty",
            ),
            (PUB.trim_end().to_owned(), "final newline"),
            (PUB[..40].to_owned(), "first line"),
            (format!("{PUB}trailing\n"), "unexpected bytes"),
            (PUB.replacen("RWQw+Q4I", "RWQw+Q4 I", 1), "base64"),
            (PUB.replacen("NJ2l", "N J2l", 1), "base64"),
            (PUB.replacen("NJ2l\n", "NJ2l=\n", 1), "base64"),
            (PUB.replacen("RWQw", "RVQw", 1), "algorithm"),
            (PUB.replacen("mirrorproof", "mirror\u{7}proof", 1), "control"),
            (
                format!("untrusted comment: {}\n", "a".repeat(2000)),
                "longer than",
            ),
            (
                format!("untrusted comment: x\n{}\n", "A".repeat(400)),
                "longer than",
            ),
        ];
        for (file, want) in bad {
            let e = parse(file.as_bytes()).unwrap_err();
            assert!(matches!(e, SchemeError::Key(_)), "{file:?}: {e}");
            assert!(e.to_string().contains(want), "{file:?}: {e} (want {want})");
            assert!(!e.to_string().contains('\n'));
        }
        let mut latin1 = PUB.as_bytes().to_vec();
        latin1[20] = 0xe9;
        assert!(parse(&latin1).unwrap_err().to_string().contains("UTF-8"));
    }

    #[test]
    fn truncated_signatures_are_refused() {
        for n in 0..SIG.len() {
            assert!(parse_signature(&SIG.as_bytes()[..n]).is_err(), "prefix {n}");
        }
        for n in 0..PUB.len() {
            assert!(parse(&PUB.as_bytes()[..n]).is_err(), "prefix {n}");
        }
        // A decoded blob of the wrong length, still valid base64.
        let raw = decoded_line(SIG);
        let e = parse_signature(rebuild(SIG, &raw[..73]).as_bytes()).unwrap_err();
        assert!(e.to_string().contains("73 bytes"), "{e}");
        let mut long = raw.clone();
        long.push(0);
        assert!(parse_signature(rebuild(SIG, &long).as_bytes()).is_err());
        // Base64 with its padding removed, or with non-canonical trailing bits.
        for bad in [
            SIG.replacen("hw4=", "hw4", 1),
            SIG.replacen("hw4=", "hw5=", 1),
        ] {
            let e = parse_signature(bad.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("base64"), "{e}");
        }
        let e = parse_signature(SIG.replace('\n', "\r\n").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("CRLF"), "{e}");
    }

    #[test]
    fn comment_length_limit() {
        let line = PUB.lines().nth(1).unwrap();
        let ok = format!(
            "untrusted comment: {}\n{line}\n",
            "c".repeat(MAX_COMMENT_BYTES)
        );
        assert_eq!(
            parse(ok.as_bytes()).unwrap().comment.len(),
            MAX_COMMENT_BYTES
        );
        let long = format!(
            "untrusted comment: {}\n{line}\n",
            "c".repeat(MAX_COMMENT_BYTES + 1)
        );
        let e = parse(long.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("longer than"), "{e}");
    }

    #[test]
    fn huge_inputs_fail_fast() {
        let huge = vec![b'a'; 8 * 1024 * 1024];
        assert!(parse(&huge).is_err());
        assert!(parse_signature(&huge).is_err());
        // A huge embedded message is returned as is; callers bound it.
        let mut big = SIG.as_bytes().to_vec();
        big.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
        let (_, rest) = parse_signature(&big).unwrap();
        assert_eq!(rest.len(), 2 * 1024 * 1024);
    }
}
