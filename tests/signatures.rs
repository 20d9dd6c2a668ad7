//! Threshold counting (FORMAT.md section 2): distinct trusted key IDs whose signature
//! verifies. Copies do not add up, strangers do not count and do not hurt, a bad signature
//! does not poison a good one, the wrong role does not count, and bytes changed after
//! signing are caught. Every case is a mirror-side manipulation of a real envelope.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use mirrorproof::envelope::{Envelope, EnvelopeSignature};

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A signature entry that claims `keyid` but whose bytes do not verify; `n` picks which
/// byte is damaged, so different `n` give different bad signatures.
fn bad_sig_for(keyid: &str, good: &EnvelopeSignature, n: usize) -> EnvelopeSignature {
    let mut raw = STANDARD.decode(&good.sig).unwrap();
    raw[n % 64] ^= 0x40;
    EnvelopeSignature {
        keyid: keyid.into(),
        sig: STANDARD.encode(raw),
    }
}

#[test]
fn copies_of_one_keys_signature_count_once() {
    let mut w = World::new();
    let one = w.release(V).signed_by(&[0]).artifact(ZIP, 64).build();
    let doubled = one.tampered(|env| {
        let s = env.signatures[0].clone();
        env.signatures.push(s.clone());
        env.signatures.push(s);
    });
    assert_eq!(doubled.envelope.signatures.len(), 3);
    w.mirror("doubled", "FR").serves(&doubled);
    let run = w.check();
    run.expect("doubled", Status::Invalid);
    assert!(
        run.error("doubled").contains("1 valid signature(s)"),
        "{}",
        run.error("doubled")
    );
}

#[test]
fn unknown_key_ids_are_ignored_and_not_listed_as_signers() {
    let mut w = World::new();
    let r = w
        .release(V)
        .signed_by_stranger()
        .signed_by(&[0, 1])
        .artifact(ZIP, 64)
        .build();
    // Plus a signature under a key ID nobody has, with garbage bytes.
    let r = r.tampered(|env| {
        env.signatures.push(EnvelopeSignature {
            keyid: "00".repeat(32),
            sig: STANDARD.encode([7u8; 64]),
        })
    });
    assert_eq!(r.envelope.signatures.len(), 4);
    w.mirror("m", "FR").serves(&r);
    let run = w.check();
    let m = run.expect("m", Status::Ok);
    assert_eq!(
        m.signers,
        sorted(vec![w.release_key_id(0), w.release_key_id(1)])
    );
    assert!(!m.signers.contains(&w.stranger.public().id().to_string()));
}

#[test]
fn a_bad_signature_does_not_poison_a_good_one_under_the_same_key() {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    let k0 = w.release_key_id(0);
    let poisoned = r.tampered(|env| {
        let good0 = env.signatures[0].clone();
        assert_eq!(good0.keyid, k0);
        // The corrupted one comes FIRST, so it is tried before the valid one.
        env.signatures.insert(0, bad_sig_for(&k0, &good0, 10));
        // And one that is not even base64.
        env.signatures.insert(
            0,
            EnvelopeSignature {
                keyid: k0.clone(),
                sig: "!!not base64!!".into(),
            },
        );
    });
    w.mirror("m", "FR").serves(&poisoned);
    let run = w.check();
    let m = run.expect("m", Status::Ok);
    assert_eq!(m.signers.len(), 2);
}

#[test]
fn many_bad_signatures_do_not_poison_a_good_one_either() {
    // Sixteen DIFFERENT failing signatures under key 0 ahead of its valid one: a cap on
    // tries per key would let a mirror hide key 0's signature this way.
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    let k0 = w.release_key_id(0);
    let poisoned = r.tampered(|env| {
        let good0 = env.signatures[0].clone();
        for n in 0..16 {
            env.signatures.insert(0, bad_sig_for(&k0, &good0, n));
        }
    });
    assert_eq!(poisoned.envelope.signatures.len(), 18);
    w.mirror("m", "FR").serves(&poisoned);
    let run = w.check();
    run.expect("m", Status::Ok);
}

#[test]
fn a_root_key_signature_does_not_count_for_a_release() {
    let mut w = World::new();
    // Root key 0 is pinned and trusted, but only for the root role.
    let r = w
        .release(V)
        .signed_by(&[0])
        .signed_by_root_key(0)
        .artifact(ZIP, 64)
        .build();
    w.mirror("m", "FR").serves(&r);
    let run = w.check();
    run.expect("m", Status::Invalid);
    assert!(run.error("m").contains("1 valid signature(s)"));
    // Two release keys make it valid: the signatures themselves were fine.
    let r = w
        .release(V)
        .signed_by(&[0, 2])
        .signed_by_root_key(0)
        .artifact(ZIP, 64)
        .build();
    w.on("m").serves(&r);
    let m = w.check().expect("m", Status::Ok).signers.clone();
    assert_eq!(m, sorted(vec![w.release_key_id(0), w.release_key_id(2)]));
}

#[test]
fn a_signature_with_the_right_key_id_but_from_another_key_fails() {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    let stranger_sig = w
        .release(V)
        .signed_by_stranger()
        .artifact(ZIP, 64)
        .build()
        .envelope
        .signatures[0]
        .sig
        .clone();
    let k1 = w.release_key_id(1);
    // Key 1's signature replaced by the stranger's, relabelled as key 1.
    let forged = r.tampered(|env| {
        let s = env.signatures.iter_mut().find(|s| s.keyid == k1).unwrap();
        s.sig = stranger_sig;
    });
    w.mirror("m", "FR").serves(&forged);
    let run = w.check();
    run.expect("m", Status::Invalid);
}

#[test]
fn a_payload_changed_after_signing_is_invalid() {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1, 2]).artifact(ZIP, 64).build();
    let tampered = r.tampered(|env| {
        let mut payload = env.payload_bytes().unwrap();
        let text = String::from_utf8(payload.clone()).unwrap();
        // Bump the version: the document still parses, but it is not what was signed.
        let bumped = text.replace(&V.to_string(), &(V + 1).to_string());
        assert_ne!(bumped, text);
        payload = bumped.into_bytes();
        env.payload = STANDARD.encode(payload);
    });
    let retyped = r.tampered(|env| {
        // Same payload, relabelled: PAE covers the type, so signatures break too.
        env.payload_type = "application/vnd.mirrorproof.release+json ".into();
    });
    w.mirror("honest", "FR").serves(&r);
    w.mirror("tampered", "DE").serves(&tampered);
    w.mirror("retyped", "DE").serves(&retyped);
    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("tampered", Status::Invalid);
    assert!(run.error("tampered").contains("threshold not met: 0 valid"));
    run.expect("retyped", Status::Invalid);
    assert_eq!(run.latest.as_ref().unwrap().version, V);
}

#[test]
fn an_envelope_over_the_size_limit_is_unreachable_whatever_its_signatures() {
    // FORMAT.md s.6: "over the size limit" is `unreachable`: the bytes are refused while
    // fetching, before anything is parsed. Unknown payload fields are ignored, so padding
    // keeps the document valid and signed.
    let mut w = World::new();
    let padded = w
        .release(V)
        .edit(|d| d["padding"] = serde_json::json!("x".repeat(1024 * 1024)))
        .signed_by(&[0, 1])
        .artifact(ZIP, 64)
        .build();
    assert!(padded.bytes().len() > 1024 * 1024);
    w.mirror("dir", "FR").serves(&padded);
    w.mirror("http", "DE").serves(&padded).over_http();
    let run = w.check();
    for m in ["dir", "http"] {
        run.expect(m, Status::Unreachable);
        assert!(
            run.error(m).contains("size limit of 1048576 bytes"),
            "{m}: {}",
            run.error(m)
        );
    }

    // The limit is configurable (`--max-metadata-bytes`): raised, the same bytes are ok.
    w.fetch.max_metadata_bytes = 4 * 1024 * 1024;
    let run = w.check();
    run.expect("dir", Status::Ok);
    run.expect("http", Status::Ok);

    // Lowered below an ordinary envelope, an honest mirror becomes unreachable.
    w.fetch.max_metadata_bytes = 256;
    let small = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    assert!(small.bytes().len() > 256);
    w.on("dir").serves(&small);
    w.check().expect("dir", Status::Unreachable);
}

#[test]
fn the_envelope_parser_refuses_oversized_input_before_parsing() {
    // The library-level guarantee behind the test above: size first, JSON second.
    let junk = vec![b'{'; 2048];
    let err = Envelope::parse(&junk, 1024).unwrap_err();
    assert!(
        err.to_string().contains("over the 1024-byte limit"),
        "{err}"
    );
}
