//! The whole verification of one release document, with the fuzz input as the PAYLOAD: it
//! is signed with the fixed release keys before `observe_release` runs, so the fuzzer
//! reaches the release parser behind valid signatures.
//!
//! The first input byte chooses how it is signed: bits 0-2 pick which of the three release
//! keys sign, bit 3 adds an outsider key, bit 4 puts a corrupted signature under a release
//! key's ID first, bit 5 repeats every signature, bit 6 uses the wrong payload type.
//!
//! Invariant besides "never panics": the release is accepted exactly when the type is right,
//! at least `threshold` distinct release keys signed, and `Release::parse` accepts the
//! payload; the signer list is then exactly the set of release keys that signed.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use mirrorproof::audit::Observation;
use mirrorproof::schemes::native::observe_release;
use mirrorproof::envelope::{Envelope, EnvelopeSignature, RELEASE_TYPE, ROOT_TYPE};
use mirrorproof::keys::KeyId;
use mirrorproof::release::Release;
use mirrorproof_fuzz::{CHANNEL, LIMIT, PROJECT, fixture};
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, payload)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let ty = if flags & 0x40 != 0 {
        ROOT_TYPE
    } else {
        RELEASE_TYPE
    };
    let mut env = Envelope::unsigned(ty, payload);
    if flags & 0x10 != 0 {
        // A bad signature under a trusted key ID must not hide the valid one after it.
        let k = &f.release_keys[(flags as usize >> 7) % f.release_keys.len()];
        let mut sig = k.sign(payload);
        sig[0] ^= 1;
        env.signatures.push(EnvelopeSignature {
            keyid: k.public().id().to_string(),
            sig: STANDARD.encode(sig),
        });
    }
    let mut expected_signers: Vec<KeyId> = Vec::new();
    for (i, k) in f.release_keys.iter().enumerate() {
        if flags & (1 << i) != 0 {
            let mut one = Envelope::unsigned(ty, payload);
            one.sign(k).unwrap();
            env.signatures.extend(one.signatures);
            expected_signers.push(k.public().id().clone());
        }
    }
    if flags & 0x08 != 0 {
        let mut one = Envelope::unsigned(ty, payload);
        one.sign(&f.outsider).unwrap();
        env.signatures.extend(one.signatures);
    }
    if flags & 0x20 != 0 {
        let again = env.signatures.clone();
        env.signatures.extend(again);
    }
    expected_signers.sort();

    let keys = f.trusted_release_keys();
    let threshold = f.release_threshold();
    let obs = observe_release(
        &env.to_json_bytes(),
        &keys,
        threshold,
        PROJECT,
        CHANNEL,
        LIMIT,
    );
    let parsed = Release::parse(payload, PROJECT, CHANNEL);
    let accept = ty == RELEASE_TYPE && expected_signers.len() >= threshold && parsed.is_ok();
    match obs {
        Observation::Signed(s) => {
            assert!(accept, "accepted: flags {flags:#04x}");
            assert_eq!(s.signers, expected_signers);
            assert_eq!(s.payload_sha256, hex::encode(Sha256::digest(payload)));
            assert_eq!(Ok(s.release), parsed);
        }
        Observation::Invalid(_) => assert!(!accept, "rejected: flags {flags:#04x}"),
        Observation::Unreachable(_) => panic!("observe_release never reports unreachable"),
    }
});
