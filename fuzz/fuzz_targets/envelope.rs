//! `Envelope::parse` and `Envelope::verify` on arbitrary bytes, against fixed keys.
//!
//! Invariants checked besides "never panics":
//! - a parsed envelope re-serialises to JSON that parses back to the same envelope;
//! - a successful verification names only distinct trusted keys, at least `threshold`;
//! - an envelope of the right type with more than `MAX_SIGNATURES` entries is refused as such;
//! - signing a parsed envelope with a key that has not signed it yet always yields an
//!   envelope that this key alone verifies (garbage signatures never hide a valid one).
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use mirrorproof::envelope::{Envelope, EnvelopeError, MAX_SIGNATURES, RELEASE_TYPE, ROOT_TYPE};
use mirrorproof::keys::PublicKey;
use mirrorproof_fuzz::{LIMIT, fixture};

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Ok(env) = Envelope::parse(data, LIMIT) else {
        return;
    };
    let again = Envelope::parse(&env.to_json_bytes(), u64::MAX).expect("re-serialised envelope");
    assert_eq!(again, env);

    let release: Vec<&PublicKey> = f.release_keys.iter().map(|k| k.public()).collect();
    let root: Vec<&PublicKey> = f.root_keys.iter().map(|k| k.public()).collect();
    for (ty, keys) in [(RELEASE_TYPE, &release), (ROOT_TYPE, &root)] {
        for threshold in 0..=3 {
            let result = env.verify(ty, keys, threshold);
            if env.payload_type == ty && env.signatures.len() > MAX_SIGNATURES {
                assert_eq!(
                    result.as_ref().err(),
                    Some(&EnvelopeError::TooManySignatures(env.signatures.len()))
                );
            }
            match result {
                Ok(v) => {
                    assert!(threshold >= 1 && v.signers.len() >= threshold);
                    let distinct: BTreeSet<_> = v.signers.iter().collect();
                    assert_eq!(distinct.len(), v.signers.len(), "a key counted twice");
                    for s in &v.signers {
                        assert!(keys.iter().any(|k| k.id() == s), "untrusted signer {s}");
                        assert!(env.signatures.iter().any(|x| x.keyid == s.as_str()));
                    }
                    assert_eq!(Ok(v.payload), env.payload_bytes());
                }
                Err(EnvelopeError::Threshold { valid, needed }) => {
                    assert_eq!(needed, threshold);
                    assert!(threshold == 0 || valid < threshold);
                }
                Err(_) => {}
            }
        }
    }

    // A fresh signature must count whatever else the envelope holds.
    let key = &f.release_keys[data.len() % f.release_keys.len()];
    let mut signed = env.clone();
    match signed.sign(key) {
        Ok(()) => match signed.verify(&env.payload_type, &[key.public()], 1) {
            Ok(v) => assert_eq!(v.signers, vec![key.public().id().clone()]),
            Err(EnvelopeError::TooManySignatures(n)) => assert!(n > MAX_SIGNATURES),
            Err(e) => panic!("a fresh signature does not verify: {e}"),
        },
        Err(EnvelopeError::AlreadySigned(id)) => assert_eq!(id, key.public().id().as_str()),
        Err(EnvelopeError::PayloadEncoding) => assert!(env.payload_bytes().is_err()),
        Err(e) => panic!("unexpected signing error {e}"),
    }
});
