//! minisign: `MinisignKey::parse` (key files and the bare `-P` form) and `parse_signature`
//! on arbitrary bytes, then `verify` under the two pinned fuzz keys made with minisign 0.11
//! (`common/schemes.rs`), over whole messages and over BLAKE2b-512 digests.
//!
//! Invariants besides "never panics":
//! - every error renders as one line;
//! - no forgery: a signature accepted under a pinned key is, field for field (algorithm,
//!   key id, signature, trusted comment, global signature), a genuine minisign file over
//!   its genuine message, or over that message's digest;
//! - a key from the input that verifies a genuine signature is that signature's key;
//! - an accepted key holds the canonical base64 of `Ed || key id || key`, and its id prints
//!   as 16 uppercase hex digits;
//! - `ED` (prehashed): verifying the bytes and verifying their BLAKE2b-512 give the same
//!   answer; `Ed` (legacy) never accepts a digest; a digest of the wrong length is refused;
//! - `WrongKey` comes exactly when the key ids differ; the trusted comment holds no
//!   control character but tab.
#![no_main]

#[path = "common/schemes.rs"]
mod schemes;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use mirrorproof::schemes::minisign::{self, Algorithm, MinisignKey};
use mirrorproof::schemes::{Message, Prehash, SchemeError};
use schemes::{MSG, assert_genuine_minisign, check_err, fixture};

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();

    // The input as a public key.
    let key = MinisignKey::parse(data);
    check_err(&key);
    if let Ok(k) = &key {
        let id = minisign::key_id_hex(&k.key_id);
        assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
        let mut raw = b"Ed".to_vec();
        raw.extend_from_slice(&k.key_id);
        raw.extend_from_slice(&hex::decode(k.key.to_hex()).unwrap());
        assert!(contains(data, STANDARD.encode(&raw).as_bytes()), "key line not canonical");
        for (sig, msg) in &f.minisign_genuine {
            let r = minisign::verify(k, sig, Message::Bytes(msg));
            check_err(&r);
            if r.is_ok() {
                assert!(f.minisign_keys.contains(k), "a foreign key verified a genuine signature");
            }
        }
    }

    // The input as a signature file.
    let parsed = minisign::parse_signature(data);
    check_err(&parsed);
    let Ok(sig) = parsed else {
        return;
    };
    assert!(
        !sig.trusted_comment.chars().any(|c| c.is_control() && c != '\t'),
        "control character in the trusted comment {:?}",
        sig.trusted_comment
    );
    assert_eq!(
        minisign::prehash(&sig),
        match sig.algorithm {
            Algorithm::Legacy => Prehash::None,
            Algorithm::Prehashed => Prehash::Blake2b512,
        }
    );
    let input_digest = data.get(..64);
    for k in &f.minisign_keys {
        let wrong_key = k.key_id != sig.key_id;
        for msg in [MSG, b"".as_slice()] {
            let by_bytes = minisign::verify(k, &sig, Message::Bytes(msg));
            check_err(&by_bytes);
            assert_eq!(matches!(by_bytes, Err(SchemeError::WrongKey { .. })), wrong_key);
            if by_bytes.is_ok() {
                assert_genuine_minisign(&sig, Message::Bytes(msg));
            }
            let digest = minisign::blake2b512(msg);
            let by_digest = minisign::verify(k, &sig, Message::Digest(&digest));
            check_err(&by_digest);
            match sig.algorithm {
                Algorithm::Prehashed => assert_eq!(by_bytes, by_digest),
                Algorithm::Legacy => assert!(if wrong_key {
                    matches!(by_digest, Err(SchemeError::WrongKey { .. }))
                } else {
                    matches!(by_digest, Err(SchemeError::Policy(_)))
                }),
            }
        }
        // Digests straight from the input: the right length, and one byte short.
        if let Some(d) = input_digest {
            let r = minisign::verify(k, &sig, Message::Digest(d));
            check_err(&r);
            if r.is_ok() {
                assert_genuine_minisign(&sig, Message::Digest(d));
            }
            let short = minisign::verify(k, &sig, Message::Digest(&d[..63]));
            check_err(&short);
            assert!(short.is_err());
            if !wrong_key && sig.algorithm == Algorithm::Prehashed {
                assert!(matches!(short, Err(SchemeError::Policy(_))));
            }
        }
    }
});
