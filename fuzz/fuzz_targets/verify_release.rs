//! The whole verification of one fetched release document, as `check` and `verify` run it:
//! `observe_release` on arbitrary bytes against the fixed trusted root's release role.
//!
//! Invariants besides "never panics": a release is only ever accepted when the envelope
//! met the threshold with distinct trusted keys, and its payload hash and signer list are
//! exactly those of the envelope's verified payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mirrorproof::audit::Observation;
use mirrorproof::schemes::native::observe_release;
use mirrorproof::envelope::{Envelope, RELEASE_TYPE};
use mirrorproof::release::Release;
use mirrorproof_fuzz::{CHANNEL, LIMIT, PROJECT, fixture};
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let keys = f.trusted_release_keys();
    let threshold = f.release_threshold();
    let obs = observe_release(data, &keys, threshold, PROJECT, CHANNEL, LIMIT);
    // The same decision, step by step.
    let expected = Envelope::parse(data, LIMIT)
        .ok()
        .and_then(|e| e.verify(RELEASE_TYPE, &keys, threshold).ok())
        .and_then(|v| {
            Release::parse(&v.payload, PROJECT, CHANNEL)
                .ok()
                .map(|r| (v, r))
        });
    match (obs, expected) {
        (Observation::Signed(s), Some((v, r))) => {
            assert!(s.signers.len() >= threshold);
            assert_eq!(s.signers, v.signers);
            assert!(
                s.signers.windows(2).all(|w| w[0] < w[1]),
                "signers sorted, distinct"
            );
            for id in &s.signers {
                assert!(keys.iter().any(|k| k.id() == id));
            }
            assert_eq!(s.payload_sha256, hex::encode(Sha256::digest(&v.payload)));
            assert_eq!(s.release, r);
        }
        (Observation::Invalid(why), None) => assert!(!why.is_empty()),
        (o, e) => panic!(
            "observe_release disagrees: {o:?} vs accepted={}",
            e.is_some()
        ),
    }
});
