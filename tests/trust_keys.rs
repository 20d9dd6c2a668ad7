//! TUF key types against vectors made by the reference tools (pyca/cryptography and
//! securesystemslib, `scripts/gen-trust-vectors.py`): every verdict is checked, and so is
//! every place where mirrorproof and securesystemslib disagree, each for a stated reason.

use mirrorproof::trust::{KeyError, PublicKey};
use serde_json::Value;

const VECTORS: &str = include_str!("../fixtures/trust/vectors.json");

/// Cases where mirrorproof accepts what securesystemslib refuses, or the other way round,
/// and why. A new disagreement fails the test until it is understood and listed here.
const DISAGREEMENTS: &[(&str, &str)] = &[
    (
        "ed25519 small-order key (identity) with a universal signature",
        "stricter: a small-order key verifies a signature for every message",
    ),
    (
        "ecdsa good (hex SEC1 point, as Sigstore's first roots)",
        "more lenient: Sigstore's roots 1 to 4 (signed with go-tuf) carry hex points",
    ),
    (
        "ecdsa PEM with trailing junk",
        "stricter: a key value is one PEM block and nothing more",
    ),
    (
        "ecdsa PEM with text before it",
        "stricter: a key value is one PEM block and nothing more",
    ),
    (
        "rsa PEM with trailing junk",
        "stricter: a key value is one PEM block and nothing more",
    ),
    (
        "rsa PKCS #1 'RSA PUBLIC KEY' PEM",
        "stricter: keys are SubjectPublicKeyInfo, as securesystemslib writes them",
    ),
    (
        "rsa 1024-bit key refused",
        "stricter: RSA keys under 2048 bits are within reach of a well-funded attacker",
    ),
    (
        "rsa signature with its leading zero byte stripped",
        "stricter: RFC 8017 wants a signature as long as the modulus; OpenSSL pads it",
    ),
    (
        "ecdsa-sha2-nistp384 is unsupported",
        "not implemented: TUF clients skip keys they do not know",
    ),
    (
        "rsa-pkcs1v15-sha256 is unsupported",
        "not implemented: TUF clients skip keys they do not know",
    ),
];

fn verdict(key: &Value, message: &[u8], signature: &[u8]) -> &'static str {
    let field = |v: &Value| v.as_str().unwrap().to_owned();
    let loaded = PublicKey::from_tuf(
        &field(&key["keytype"]),
        &field(&key["scheme"]),
        &field(&key["keyval"]["public"]),
    );
    let result = loaded.and_then(|k| k.verify(message, signature));
    match result {
        Ok(()) => "ok",
        Err(KeyError::Unsupported { .. }) => "unsupported",
        Err(KeyError::MalformedKey(_)) => "malformed_key",
        Err(KeyError::WeakKey(_)) => "weak_key",
        Err(KeyError::MalformedSignature(_)) => "malformed_signature",
        Err(KeyError::BadSignature) => "bad_signature",
        Err(KeyError::TooLarge { .. }) => "too_large",
    }
}

fn cases() -> Vec<Value> {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

#[test]
fn reference_vectors_give_the_expected_verdicts() {
    let cases = cases();
    assert!(cases.len() >= 40, "the fixture lost cases: {}", cases.len());
    let mut wrong = Vec::new();
    for c in &cases {
        let message = hex::decode(c["message_hex"].as_str().unwrap()).unwrap();
        let signature = hex::decode(c["signature_hex"].as_str().unwrap()).unwrap();
        let got = verdict(&c["key"], &message, &signature);
        if got != c["expected"].as_str().unwrap() {
            wrong.push(format!("{}: got {got}, want {}", c["name"], c["expected"]));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_disagreement_with_securesystemslib_is_a_listed_one() {
    let mut found: Vec<String> = cases()
        .iter()
        .filter(|c| (c["expected"] == "ok") != (c["securesystemslib"] == "ok"))
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    let mut listed: Vec<String> = DISAGREEMENTS.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn every_key_type_has_a_good_case_both_tools_accept() {
    let cases = cases();
    for prefix in [
        "ed25519 good",
        "ecdsa good (keytype ecdsa,",
        "rsa good (securesystemslib",
    ] {
        let c = cases
            .iter()
            .find(|c| c["name"].as_str().unwrap().starts_with(prefix))
            .unwrap();
        assert_eq!(c["expected"], "ok", "{prefix}");
        assert_eq!(c["securesystemslib"], "ok", "{prefix}");
    }
}

/// A signature that verifies must stop verifying when any one byte of the message changes
/// or any one bit of the signature does, for each key type.
#[test]
fn any_change_breaks_a_good_signature() {
    for c in cases()
        .iter()
        .filter(|c| c["expected"] == "ok" && c["name"].as_str().unwrap().contains("good"))
    {
        let message = hex::decode(c["message_hex"].as_str().unwrap()).unwrap();
        let signature = hex::decode(c["signature_hex"].as_str().unwrap()).unwrap();
        assert_eq!(verdict(&c["key"], &message, &signature), "ok");
        for i in 0..message.len() {
            let mut m = message.clone();
            m[i] ^= 0x20;
            assert_ne!(
                verdict(&c["key"], &m, &signature),
                "ok",
                "{} message byte {i}",
                c["name"]
            );
        }
        // Every byte of the short signatures; for RSA (hundreds of bytes, each check a modpow
        // in an unoptimised test build) every seventh byte and the last.
        let step = if signature.len() > 72 { 7 } else { 1 };
        let last = signature.len() - 1;
        for i in (0..signature.len()).step_by(step).chain([last]) {
            let mut s = signature.clone();
            s[i] ^= 1 << (i % 8);
            assert_ne!(
                verdict(&c["key"], &message, &s),
                "ok",
                "{} signature byte {i}",
                c["name"]
            );
        }
    }
}
