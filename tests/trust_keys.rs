//! TUF key types against vectors made by the reference tools (pyca/cryptography and
//! securesystemslib, `scripts/gen-trust-vectors.py`): every verdict is checked, and so is
//! every place where mirrorproof and securesystemslib disagree, each for a stated reason.

use mirrorproof::trust::{KeyError, PublicKey};
use serde_json::Value;
use std::path::PathBuf;

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

// ---- Real TUF metadata: Sigstore's root and a publication of its repository ---------------

/// Canonical JSON as securesystemslib writes it (`encode_canonical`), which is what TUF
/// signs: object keys sorted, no whitespace, integers only, and in strings only `"` and `\`
/// escaped. Enough for metadata; a test helper, not the client's canonicalizer.
fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            assert!(
                n.is_i64() || n.is_u64(),
                "canonical JSON has no floats: {n}"
            );
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => {
            out.push(b'"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push(b'\\');
                }
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            out.push(b'"');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(&Value::String(k.clone()), out);
                out.push(b':');
                canonical(&map[k], out);
            }
            out.push(b'}');
        }
    }
}

fn canonical_bytes(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    canonical(v, &mut out);
    out
}

/// The distinct keys of `role` (as `root` defines it) whose signature on `doc` verifies,
/// and the role's threshold. Every non-empty signature by a key of the role must verify.
fn role_signers(root: &Value, role: &str, doc: &Value) -> (Vec<String>, u64) {
    let signed = canonical_bytes(&doc["signed"]);
    let role_def = &root["signed"]["roles"][role];
    let keyids: Vec<&str> = role_def["keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let mut good = Vec::new();
    for sig in doc["signatures"].as_array().unwrap() {
        let keyid = sig["keyid"].as_str().unwrap();
        let hex_sig = sig["sig"].as_str().unwrap();
        if hex_sig.is_empty() || !keyids.contains(&keyid) {
            continue; // tuf-on-ci leaves empty placeholders for keyholders who did not sign
        }
        let key = &root["signed"]["keys"][keyid];
        let public = PublicKey::from_tuf(
            key["keytype"].as_str().unwrap(),
            key["scheme"].as_str().unwrap(),
            key["keyval"]["public"].as_str().unwrap(),
        )
        .unwrap_or_else(|e| panic!("{role} key {keyid}: {e}"));
        public
            .verify(&signed, &hex::decode(hex_sig).unwrap())
            .unwrap_or_else(|e| panic!("{role} signature by {keyid}: {e}"));
        if !good.iter().any(|g| g == keyid) {
            good.push(keyid.to_owned());
        }
    }
    (good, role_def["threshold"].as_u64().unwrap())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

const SIGSTORE_ROOT: &[u8] = include_bytes!("../keys/sigstore-root.json");

/// keys/sigstore-root.json is Sigstore's root v13 byte for byte (keys/README.md says where
/// it was published), and a threshold of its own root keys signed it.
#[test]
fn sigstore_root_is_self_signed() {
    assert_eq!(
        sha256_hex(SIGSTORE_ROOT),
        "39277f1fbd482f84d924b6cb77748f62ab0f031b3b5b9b29e681dae056c32250",
        "keys/sigstore-root.json is not the published root v13"
    );
    let root: Value = serde_json::from_slice(SIGSTORE_ROOT).unwrap();
    assert_eq!(root["signed"]["_type"], "root");
    assert_eq!(root["signed"]["version"], 13);
    let (signers, threshold) = role_signers(&root, "root", &root);
    assert_eq!(threshold, 3);
    assert_eq!(
        signers.len(),
        5,
        "all five root keyholders signed v13: {signers:?}"
    );

    // The same signatures over anything else count for nothing.
    let mut forged = root.clone();
    forged["signed"]["version"] = 14.into();
    let signed = canonical_bytes(&forged["signed"]);
    for sig in root["signatures"].as_array().unwrap() {
        let hex_sig = sig["sig"].as_str().unwrap();
        if hex_sig.is_empty() {
            continue;
        }
        let key = &root["signed"]["keys"][sig["keyid"].as_str().unwrap()];
        let public = PublicKey::from_tuf(
            key["keytype"].as_str().unwrap(),
            key["scheme"].as_str().unwrap(),
            key["keyval"]["public"].as_str().unwrap(),
        )
        .unwrap();
        assert!(matches!(
            public.verify(&signed, &hex::decode(hex_sig).unwrap()),
            Err(KeyError::BadSignature)
        ));
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/sigstore-tuf/metadata")
            .join(name),
    )
    .unwrap()
}

/// The stored publication of Sigstore's repository in fixtures/sigstore-tuf (root v6,
/// timestamp 80, snapshot 80, targets 7; its README says where each came from) is signed
/// by the keys root v6 names, and each file is the one the file above it pins by length and
/// hash. These are production signatures from hardware tokens and cloud KMS, high S and all.
#[test]
fn sigstore_publication_fixture_is_signed_and_chained() {
    let root_bytes = fixture("6.root.json");
    let root: Value = serde_json::from_slice(&root_bytes).unwrap();
    let (root_signers, root_threshold) = role_signers(&root, "root", &root);
    assert!(
        root_signers.len() as u64 >= root_threshold,
        "{root_signers:?}"
    );
    assert_eq!(root_signers.len(), 5);

    let timestamp: Value = serde_json::from_slice(&fixture("timestamp.json")).unwrap();
    let snapshot_bytes = fixture("80.snapshot.json");
    let snapshot: Value = serde_json::from_slice(&snapshot_bytes).unwrap();
    let targets_bytes = fixture("7.targets.json");
    let targets: Value = serde_json::from_slice(&targets_bytes).unwrap();
    for (role, doc) in [
        ("timestamp", &timestamp),
        ("snapshot", &snapshot),
        ("targets", &targets),
    ] {
        let (signers, threshold) = role_signers(&root, role, doc);
        assert!(signers.len() as u64 >= threshold, "{role}: {signers:?}");
        assert_eq!(doc["signed"]["_type"], role);
    }

    let snap_meta = &timestamp["signed"]["meta"]["snapshot.json"];
    assert_eq!(snap_meta["version"], snapshot["signed"]["version"]);
    assert_eq!(snap_meta["length"], snapshot_bytes.len());
    assert_eq!(snap_meta["hashes"]["sha256"], sha256_hex(&snapshot_bytes));
    let targets_meta = &snapshot["signed"]["meta"]["targets.json"];
    assert_eq!(targets_meta["version"], targets["signed"]["version"]);
    assert_eq!(targets_meta["length"], targets_bytes.len());
    assert_eq!(targets_meta["hashes"]["sha256"], sha256_hex(&targets_bytes));
    assert_eq!(
        targets["signed"]["targets"]["trusted_root.json"]["length"],
        7014
    );

    // A signature over the canonical form must not survive a change to the content.
    let mut moved = timestamp["signed"].clone();
    moved["version"] = 81.into();
    let sig = &timestamp["signatures"][0];
    let key = &root["signed"]["keys"][sig["keyid"].as_str().unwrap()];
    let public = PublicKey::from_tuf(
        key["keytype"].as_str().unwrap(),
        key["scheme"].as_str().unwrap(),
        key["keyval"]["public"].as_str().unwrap(),
    )
    .unwrap();
    let raw = hex::decode(sig["sig"].as_str().unwrap()).unwrap();
    public
        .verify(&canonical_bytes(&timestamp["signed"]), &raw)
        .unwrap();
    assert!(matches!(
        public.verify(&canonical_bytes(&moved), &raw),
        Err(KeyError::BadSignature)
    ));
}

/// Sigstore's root v3 (2022, signed with go-tuf) names its ECDSA keys as hex SEC1 points,
/// which securesystemslib does not read; this is why `from_tuf` accepts them.
#[test]
fn sigstore_root_v3_with_hex_keys_is_self_signed() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sigstore-tuf/hex-keys/3.root.json");
    let root: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(root["signed"]["version"], 3);
    let any_key = root["signed"]["keys"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert!(
        any_key["keyval"]["public"]
            .as_str()
            .unwrap()
            .starts_with("04")
    );
    let (signers, threshold) = role_signers(&root, "root", &root);
    assert_eq!(threshold, 3);
    assert_eq!(signers.len(), 3, "{signers:?}");
}
