//! signify (OpenBSD): `signify::parse` (public keys), `parse_signature` and
//! `parse_detached`, the embedded message through `checksums::parse`, and `verify` under
//! the two pinned fuzz keys made with signify-openbsd (`common/schemes.rs`).
//!
//! Invariants besides "never panics":
//! - every error renders as one line;
//! - no forgery: a signature accepted under a pinned key is a genuine signify-openbsd
//!   signature over its genuine message (embedded list, `MSG` or the empty file);
//! - a key from the input that verifies a genuine signature is that signature's key;
//! - one spelling: an accepted key file is exactly its comment line and the base64 of
//!   `Ed || keynum || key`; an accepted signature file is exactly its two lines followed by
//!   the embedded message;
//! - `parse_detached` accepts exactly what `parse_signature` accepts with nothing after;
//! - `WrongKey` comes exactly when the key numbers differ.
#![no_main]

#[path = "common/schemes.rs"]
mod schemes;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use mirrorproof::schemes::SchemeError;
use mirrorproof::schemes::signify;
use schemes::{MSG, assert_genuine_signify, check_checksum_list, check_err, fixture};

fuzz_target!(|data: &[u8]| {
    let f = fixture();

    // The input as a public key file.
    let key = signify::parse(data);
    check_err(&key);
    if let Ok(k) = &key {
        let mut raw = b"Ed".to_vec();
        raw.extend_from_slice(&k.keynum);
        raw.extend_from_slice(&hex::decode(k.key.to_hex()).unwrap());
        let canonical = format!("untrusted comment: {}\n{}\n", k.comment, STANDARD.encode(&raw));
        assert_eq!(canonical.as_bytes(), data, "a key file with a second spelling");
        assert_eq!(signify::keynum_hex(&k.keynum), hex::encode(k.keynum));
        for (keynum, sig, msg) in &f.signify_genuine {
            let s = signify::SignifySignature {
                keynum: *keynum,
                signature: *sig,
                comment: "c".into(),
            };
            let r = signify::verify(k, &s, msg);
            check_err(&r);
            if r.is_ok() {
                assert!(
                    f.signify_keys
                        .iter()
                        .any(|g| g.keynum == k.keynum && g.key == k.key),
                    "a foreign key verified a genuine signature"
                );
            }
        }
    }

    // The input as a signature file (detached, or embedded with its message after it).
    let parsed = signify::parse_signature(data);
    check_err(&parsed);
    let detached = signify::parse_detached(data);
    check_err(&detached);
    match (&parsed, &detached) {
        (Ok((s, rest)), Ok(d)) => assert!(rest.is_empty() && s == d),
        (Ok((_, rest)), Err(_)) => assert!(!rest.is_empty()),
        (Err(_), Ok(_)) => panic!("parse_detached accepts what parse_signature refuses"),
        (Err(_), Err(_)) => {}
    }
    let Ok((sig, embedded)) = parsed else {
        return;
    };
    let mut raw = b"Ed".to_vec();
    raw.extend_from_slice(&sig.keynum);
    raw.extend_from_slice(&sig.signature);
    let mut canonical = format!("untrusted comment: {}\n{}\n", sig.comment, STANDARD.encode(&raw))
        .into_bytes();
    canonical.extend_from_slice(embedded);
    assert_eq!(canonical, data, "a signature file with a second spelling");

    if !embedded.is_empty() {
        check_checksum_list(embedded);
    }
    for k in &f.signify_keys {
        for msg in [embedded, MSG, b"".as_slice()] {
            if msg.is_empty() && !embedded.is_empty() {
                continue;
            }
            let r = signify::verify(k, &sig, msg);
            check_err(&r);
            assert_eq!(
                matches!(r, Err(SchemeError::WrongKey { .. })),
                k.keynum != sig.keynum
            );
            if r.is_ok() {
                assert_genuine_signify(&sig, msg);
            }
        }
    }
});
