//! Property tests (proptest) for the parts of mirrorproof that decide trust: DSSE signing
//! and verification, threshold counting, artifact names, strict JSON and the release path
//! behind signatures. Case counts are modest so the whole file runs in seconds in debug.
//!
//! Failing cases are printed shrunk but not persisted to disk (`failure_persistence: None`);
//! rerun with `PROPTEST_CASES=10000 cargo test --release --test properties` for a deeper run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;

use mirrorproof::envelope::{
    DEFAULT_MAX_BYTES, Envelope, EnvelopeError, EnvelopeSignature, MAX_SIGNATURES, RELEASE_TYPE,
    pae,
};
use mirrorproof::json::from_slice_strict;
use mirrorproof::keys::{KeyId, PublicKey, SecretKey};
use mirrorproof::release::{
    ArtifactDoc, Expected, Release, ReleaseDoc, check_artifact_name, check_channel_name,
};
use mirrorproof::schemes::native::ReleaseObservation as Observation;
use mirrorproof::schemes::native::observe_release;

/// Four fixed keys: 0..3 are trusted, 3 is a valid key nobody trusts.
static KEYS: LazyLock<Vec<SecretKey>> = LazyLock::new(|| {
    (0..4u8)
        .map(|i| SecretKey::from_seed(&[0x40 + i; 32]).unwrap())
        .collect()
});
const TRUSTED: usize = 3;

fn trusted() -> Vec<&'static PublicKey> {
    KEYS[..TRUSTED].iter().map(|k| k.public()).collect()
}

fn id(k: usize) -> KeyId {
    KEYS[k].public().id().clone()
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Payload types: mostly the real ones, sometimes anything at all (PAE must bind it).
fn payload_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(RELEASE_TYPE.to_owned()),
        Just(mirrorproof::envelope::ROOT_TYPE.to_owned()),
        any::<String>(),
    ]
}

fn flip(bytes: &mut [u8], bit: &Index) {
    let i = bit.index(bytes.len() * 8);
    bytes[i / 8] ^= 1 << (i % 8);
}

// ---------------------------------------------------------------------------------------
// Sign, then verify.
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(32))]

    /// Any payload under any payload type, signed by any non-empty set of trusted keys,
    /// verifies (also after a trip through JSON) and names exactly those signers.
    #[test]
    fn sign_then_verify(
        ty in payload_type(),
        payload in proptest::collection::vec(any::<u8>(), 0..512),
        signers in proptest::sample::subsequence((0..TRUSTED).collect::<Vec<_>>(), 1..=TRUSTED),
    ) {
        let mut env = Envelope::unsigned(&ty, &payload);
        for &k in &signers {
            env.sign(&KEYS[k]).unwrap();
        }
        // The same key cannot sign twice.
        prop_assert_eq!(
            env.sign(&KEYS[signers[0]]),
            Err(EnvelopeError::AlreadySigned(id(signers[0]).to_string()))
        );
        let env = Envelope::parse(&env.to_json_bytes(), DEFAULT_MAX_BYTES).unwrap();
        let expected: Vec<KeyId> = signers.iter().map(|&k| id(k)).collect::<BTreeSet<_>>()
            .into_iter().collect();
        let v = env.verify(&ty, &trusted(), signers.len()).unwrap();
        prop_assert_eq!(&v.payload, &payload);
        prop_assert_eq!(&v.signers, &expected);
        prop_assert_eq!(
            env.verify(&ty, &trusted(), signers.len() + 1).unwrap_err(),
            EnvelopeError::Threshold { valid: signers.len(), needed: signers.len() + 1 }
        );
        // Each signature is over PAE(type, payload) and nothing else.
        for s in &env.signatures {
            let k = KEYS.iter().find(|k| k.public().id().as_str() == s.keyid).unwrap();
            let sig = STANDARD.decode(&s.sig).unwrap();
            prop_assert!(k.public().verify_strict(&pae(&ty, &payload), &sig));
        }
    }

    /// Flipping any single bit of the decoded payload invalidates every signature.
    #[test]
    fn payload_bit_flip_fails(
        ty in payload_type(),
        payload in proptest::collection::vec(any::<u8>(), 1..256),
        bit in any::<Index>(),
        k in 0..TRUSTED,
    ) {
        let mut env = Envelope::unsigned(&ty, &payload);
        env.sign(&KEYS[k]).unwrap();
        prop_assert!(env.verify(&ty, &trusted(), 1).is_ok());
        let mut changed = payload.clone();
        flip(&mut changed, &bit);
        env.payload = STANDARD.encode(&changed);
        prop_assert_eq!(
            env.verify(&ty, &trusted(), 1).unwrap_err(),
            EnvelopeError::Threshold { valid: 0, needed: 1 }
        );
    }

    /// Flipping any single bit of a decoded signature invalidates it (strict verification
    /// leaves no malleable bit).
    #[test]
    fn signature_bit_flip_fails(
        ty in payload_type(),
        payload in proptest::collection::vec(any::<u8>(), 0..256),
        bit in any::<Index>(),
        k in 0..TRUSTED,
    ) {
        let mut env = Envelope::unsigned(&ty, &payload);
        env.sign(&KEYS[k]).unwrap();
        let mut sig = STANDARD.decode(&env.signatures[0].sig).unwrap();
        prop_assert_eq!(sig.len(), 64);
        flip(&mut sig, &bit);
        env.signatures[0].sig = STANDARD.encode(&sig);
        prop_assert_eq!(
            env.verify(&ty, &trusted(), 1).unwrap_err(),
            EnvelopeError::Threshold { valid: 0, needed: 1 }
        );
    }

    /// A signature made for one payload type never verifies under another.
    #[test]
    fn payload_type_is_bound(
        ty in payload_type(),
        other in payload_type(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        prop_assume!(ty != other);
        let mut env = Envelope::unsigned(&ty, &payload);
        env.sign(&KEYS[0]).unwrap();
        env.payload_type = other.clone();
        prop_assert!(env.verify(&other, &trusted(), 1).is_err());
        let wrong_type = matches!(
            env.verify(&ty, &trusted(), 1),
            Err(EnvelopeError::WrongType { .. })
        );
        prop_assert!(wrong_type);
    }
}

// ---------------------------------------------------------------------------------------
// Threshold counting.
// ---------------------------------------------------------------------------------------

/// One entry a hostile mirror may put in an envelope's signature list.
#[derive(Debug, Clone)]
enum Entry {
    /// A valid signature by key k (k = 3 is valid but untrusted).
    Valid(usize),
    /// A signature by key k with one bit flipped, under key k's ID.
    Flipped(usize, Index),
    /// Key j's valid signature listed under key k's ID.
    Swapped(usize, usize),
    /// Not base64, or base64 of the wrong length, under key k's ID.
    Garbage(usize, String),
    /// A key ID no trusted key has (random, or a trusted ID in uppercase).
    Unknown(String, usize),
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        3 => (0..4usize).prop_map(Entry::Valid),
        2 => (0..4usize, any::<Index>()).prop_map(|(k, i)| Entry::Flipped(k, i)),
        1 => (0..4usize, 0..4usize).prop_map(|(k, j)| Entry::Swapped(k, j)),
        1 => (0..4usize, prop_oneof![Just(String::new()), "[A-Za-z0-9+/=!]{0,90}"])
            .prop_map(|(k, g)| Entry::Garbage(k, g)),
        1 => ("[0-9a-f]{0,64}", 0..4usize).prop_map(|(s, k)| Entry::Unknown(s, k)),
        1 => (0..TRUSTED).prop_map(|k| Entry::Unknown(id(k).as_str().to_uppercase(), k)),
    ]
}

/// Signatures over one fixed message, made once (signing is slow in debug builds).
static SIGS: LazyLock<Vec<[u8; 64]>> = LazyLock::new(|| {
    KEYS.iter()
        .map(|k| k.sign(&pae(RELEASE_TYPE, THRESHOLD_PAYLOAD)))
        .collect()
});
const THRESHOLD_PAYLOAD: &[u8] = b"{\"type\":\"release\"}";

proptest! {
    #![proptest_config(config(48))]

    /// Whatever mix of duplicates, bad signatures, swapped signatures, garbage and unknown
    /// key IDs surrounds them, the verified signers are exactly the distinct trusted keys
    /// with at least one valid signature, and the threshold is met exactly when there are
    /// at least `threshold` of them.
    #[test]
    fn threshold_counts_distinct_valid_trusted_keys(
        entries in proptest::collection::vec(entry(), 0..12),
        threshold in 0..=4usize,
    ) {
        let mut env = Envelope::unsigned(RELEASE_TYPE, THRESHOLD_PAYLOAD);
        let mut expected = BTreeSet::new();
        for e in &entries {
            let (keyid, sig) = match e {
                Entry::Valid(k) => {
                    if *k < TRUSTED {
                        expected.insert(id(*k));
                    }
                    (id(*k).to_string(), STANDARD.encode(SIGS[*k]))
                }
                Entry::Flipped(k, bit) => {
                    let mut s = SIGS[*k];
                    flip(&mut s, bit);
                    (id(*k).to_string(), STANDARD.encode(s))
                }
                Entry::Swapped(k, j) => {
                    if k == j && *k < TRUSTED {
                        expected.insert(id(*k));
                    }
                    (id(*k).to_string(), STANDARD.encode(SIGS[*j]))
                }
                Entry::Garbage(k, g) => (id(*k).to_string(), g.clone()),
                Entry::Unknown(s, k) => (s.clone(), STANDARD.encode(SIGS[*k])),
            };
            env.signatures.push(EnvelopeSignature { keyid, sig });
        }
        // Base64 garbage may by chance decode to 64 bytes; it can never be a valid
        // signature, which `expected` already assumes.
        let expected: Vec<KeyId> = expected.into_iter().collect();
        match env.verify(RELEASE_TYPE, &trusted(), threshold) {
            Ok(v) => {
                prop_assert!(threshold >= 1 && expected.len() >= threshold);
                prop_assert_eq!(v.signers, expected);
            }
            Err(e) => {
                prop_assert!(threshold == 0 || expected.len() < threshold);
                prop_assert_eq!(
                    e,
                    EnvelopeError::Threshold { valid: expected.len(), needed: threshold }
                );
            }
        }
        // The order of the entries never matters.
        let mut reversed = env.clone();
        reversed.signatures.reverse();
        prop_assert_eq!(
            reversed.verify(RELEASE_TYPE, &trusted(), 1).map(|v| v.signers).ok(),
            env.verify(RELEASE_TYPE, &trusted(), 1).map(|v| v.signers).ok()
        );
    }
}

/// The signature cap: at most `MAX_SIGNATURES` entries are looked at, and one more makes
/// the envelope invalid wherever the valid signatures sit in it.
#[test]
fn signature_cap_is_exact() {
    let mut bad = SIGS[1];
    bad[5] ^= 0x20;
    let filler = EnvelopeSignature {
        keyid: id(1).to_string(),
        sig: STANDARD.encode(bad),
    };
    let valid = |k: usize| EnvelopeSignature {
        keyid: id(k).to_string(),
        sig: STANDARD.encode(SIGS[k]),
    };
    let mut env = Envelope::unsigned(RELEASE_TYPE, THRESHOLD_PAYLOAD);
    env.signatures = vec![filler; MAX_SIGNATURES - 2];
    env.signatures.insert(0, valid(0));
    env.signatures.push(valid(2));
    assert_eq!(env.signatures.len(), MAX_SIGNATURES);
    let v = env.verify(RELEASE_TYPE, &trusted(), 2).unwrap();
    assert_eq!(
        v.signers,
        [id(0), id(2)]
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    env.signatures.push(valid(1));
    assert_eq!(
        env.verify(RELEASE_TYPE, &trusted(), 1).unwrap_err(),
        EnvelopeError::TooManySignatures(MAX_SIGNATURES + 1)
    );
}

// ---------------------------------------------------------------------------------------
// Artifact and channel names.
// ---------------------------------------------------------------------------------------

/// Path segments, biased towards the dangerous ones.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._-]{1,8}",
        1 => Just(String::new()),
        1 => Just(".".to_owned()),
        2 => Just("..".to_owned()),
        1 => "[^/]{0,4}",
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(segment(), 1..5).prop_map(|s| s.join("/")),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// A name with a `..` segment anywhere is always refused.
    #[test]
    fn artifact_name_never_accepts_dotdot(
        before in proptest::collection::vec(segment(), 0..4),
        after in proptest::collection::vec(segment(), 0..4),
    ) {
        let mut segs = before;
        segs.push("..".to_owned());
        segs.extend(after);
        let name = segs.join("/");
        prop_assert!(check_artifact_name(&name).is_err(), "{:?} accepted", name);
    }

    /// An accepted name, joined to a directory, stays below it: only normal components,
    /// and the same number of them as `/`-separated segments.
    #[test]
    fn accepted_artifact_names_stay_inside(name in name()) {
        if check_artifact_name(&name).is_ok() {
            let joined = Path::new("/mirror/artifacts").join(&name);
            let rel = joined.strip_prefix("/mirror/artifacts").unwrap();
            prop_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
            prop_assert_eq!(rel.components().count(), name.split('/').count());
            prop_assert!(!name.chars().any(char::is_control) && !name.contains('\\'));
        }
    }

    /// A channel name is one path segment that cannot climb.
    #[test]
    fn accepted_channels_are_one_plain_segment(channel in name()) {
        if check_channel_name(&channel).is_ok() {
            let p = Path::new("/m").join(format!("{channel}/release.json"));
            let rel = p.strip_prefix("/m").unwrap();
            prop_assert_eq!(rel.components().count(), 2);
            prop_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Strict JSON.
// ---------------------------------------------------------------------------------------

/// Small JSON values whose objects never repeat a key.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `key` as a JSON string literal with every character `\u`-escaped (surrogate pairs
/// outside the BMP): the same key to any JSON parser, different bytes on the wire.
fn escaped_key(key: &str) -> String {
    let mut out = String::from("\"");
    for unit in key.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out.push('"');
    out
}

proptest! {
    #![proptest_config(config(128))]

    /// Documents without duplicate keys parse strictly to what serde_json reads.
    #[test]
    fn strict_json_accepts_what_has_no_duplicates(v in json_value()) {
        let text = serde_json::to_vec(&v).unwrap();
        let strict: serde_json::Value = from_slice_strict(&text).unwrap();
        prop_assert_eq!(strict, v);
    }

    /// Repeating any key of any object, at any depth, even spelled with escapes, is refused.
    #[test]
    fn strict_json_refuses_a_repeated_key(
        v in json_value(),
        key in any::<String>(),
        first in json_value(),
        second in json_value(),
        escape in any::<bool>(),
        wrap in 0..3usize,
    ) {
        let spelled = if escape { escaped_key(&key) } else { serde_json::to_string(&key).unwrap() };
        let pad = if key == "pad" { "other" } else { "pad" };
        let mut text = format!(
            "{{{}:{},\"{pad}\":{},{}:{}}}",
            serde_json::to_string(&key).unwrap(),
            serde_json::to_string(&first).unwrap(),
            serde_json::to_string(&v).unwrap(),
            spelled,
            serde_json::to_string(&second).unwrap(),
        );
        for _ in 0..wrap {
            text = format!("{{\"outer\":[1,{text}]}}");
        }
        let r: Result<serde_json::Value, String> = from_slice_strict(text.as_bytes());
        prop_assert!(r.as_ref().is_err_and(|e| e.contains("duplicate key")), "{:?}: {:?}", text, r);
    }
}

// ---------------------------------------------------------------------------------------
// A release, end to end: signed document in, the same artifacts out.
// ---------------------------------------------------------------------------------------

/// An artifact entry as (length, sha256, sha512): `ArtifactDoc` has no `Debug`.
type ArtifactParts = (u64, Option<[u8; 32]>, Option<Vec<u8>>);

fn artifact_parts() -> impl Strategy<Value = ArtifactParts> {
    (
        any::<u64>(),
        proptest::option::of(any::<[u8; 32]>()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 64)),
    )
        .prop_filter("at least one digest", |(_, a, b)| {
            a.is_some() || b.is_some()
        })
}

fn artifact_doc((length, a, b): &ArtifactParts) -> ArtifactDoc {
    ArtifactDoc {
        length: *length,
        sha256: a.map(hex::encode),
        sha512: b.as_ref().map(hex::encode),
    }
}

fn safe_name() -> impl Strategy<Value = String> {
    proptest::collection::vec("[A-Za-z0-9_-][A-Za-z0-9._-]{0,7}", 1..4).prop_map(|s| s.join("/"))
}

proptest! {
    #![proptest_config(config(32))]

    /// A release built from arbitrary valid parts, signed by two of three trusted keys,
    /// comes out of `observe_release` with exactly its artifacts, digests and signers.
    #[test]
    fn signed_release_round_trips(
        version in any::<u64>(),
        artifacts in proptest::collection::btree_map(safe_name(), artifact_parts(), 0..6),
        signers in proptest::sample::subsequence((0..TRUSTED).collect::<Vec<_>>(), 2..=TRUSTED),
    ) {
        let doc = ReleaseDoc {
            kind: "release".into(),
            spec_version: 1,
            project: "exampleos".into(),
            channel: "stable".into(),
            version,
            published: "2026-11-22T10:00:00Z".into(),
            expires: "2026-12-22T10:00:00Z".into(),
            artifacts: artifacts.iter().map(|(n, p)| (n.clone(), artifact_doc(p))).collect(),
        };
        let payload = serde_json::to_vec_pretty(&doc).unwrap();
        let mut env = Envelope::unsigned(RELEASE_TYPE, &payload);
        for &k in &signers {
            env.sign(&KEYS[k]).unwrap();
        }
        let obs = observe_release(
            &env.to_json_bytes(), &trusted(), 2, "exampleos", "stable", DEFAULT_MAX_BYTES,
        );
        let Observation::Signed(s) = obs else {
            return Err(TestCaseError::fail(format!("not accepted: {obs:?}")));
        };
        prop_assert_eq!(s.release.version, version);
        let ids: BTreeSet<KeyId> = signers.iter().map(|&k| id(k)).collect();
        prop_assert_eq!(&s.signers, &ids.into_iter().collect::<Vec<_>>());
        let got: BTreeMap<&str, (&Vec<Expected>, u64)> = s.release.artifacts.iter()
            .map(|a| (a.name.as_str(), (&a.digests, a.length))).collect();
        prop_assert_eq!(got.len(), artifacts.len());
        for (name, parts) in &artifacts {
            let a = artifact_doc(parts);
            let (digests, length) = got[name.as_str()];
            prop_assert_eq!(length, a.length);
            // Every listed digest is kept, to be checked together over one download.
            let sha256 = a.sha256.as_ref()
                .map(|h| Expected::Sha256(hex::decode(h).unwrap().try_into().unwrap()));
            let sha512 = a.sha512.as_ref()
                .map(|h| Expected::Sha512(hex::decode(h).unwrap().try_into().unwrap()));
            let want: Vec<Expected> = sha256.into_iter().chain(sha512).collect();
            prop_assert!(!want.is_empty());
            prop_assert_eq!(digests, &want);
        }
        // Parsing the payload directly agrees with the verified path.
        prop_assert_eq!(Release::parse(&payload, "exampleos", "stable").unwrap(), s.release);
        // With one signature fewer than the threshold, nothing is accepted.
        env.signatures.truncate(1);
        let one = observe_release(
            &env.to_json_bytes(), &trusted(), 2, "exampleos", "stable", DEFAULT_MAX_BYTES,
        );
        prop_assert!(matches!(one, Observation::Invalid(_)));
    }

    /// An uppercase or wrong-length digest makes the whole release invalid.
    #[test]
    fn malformed_digests_are_refused(
        digest in any::<[u8; 32]>(),
        cut in 1..64usize,
        upper in any::<bool>(),
    ) {
        let mut h = hex::encode(digest);
        if upper && h.bytes().any(|b| b.is_ascii_lowercase()) {
            h = h.to_uppercase();
        } else {
            h.truncate(64 - cut);
        }
        let doc = serde_json::json!({
            "type": "release", "spec_version": 1, "project": "p", "channel": "c",
            "version": 1, "published": "2026-11-22T10:00:00Z",
            "expires": "2026-12-22T10:00:00Z",
            "artifacts": { "a.img": { "length": 1, "sha256": h } },
        });
        let payload = serde_json::to_vec(&doc).unwrap();
        prop_assert!(Release::parse(&payload, "p", "c").is_err());
    }
}

// ---------------------------------------------------------------------------------------
// Panics found by fuzzing and review (fixed in src/; reproducers in fuzz/regressions/).
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    /// `time::parse_relative` (publisher `--expires`/`--published`) never panics: a
    /// multi-byte last character once split a char, and `--9223372036854775808s` once
    /// overflowed negating `i64::MIN`.
    #[test]
    fn parse_relative_never_panics(
        s in prop_oneof![
            "[+-][0-9]{0,3}.",
            "[+-][+-]?[0-9]{1,20}[smhd]",
            any::<String>(),
        ],
    ) {
        let base = mirrorproof::time::parse("2026-11-22T00:00:00Z").unwrap();
        if mirrorproof::time::parse_relative(&s, base).is_ok() && s.starts_with(['+', '-']) {
            // An accepted offset is a sign, ASCII digits and one unit: no second sign.
            let digits = &s[1..s.len() - 1];
            prop_assert!(!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()), "{:?}", s);
            prop_assert!(s.ends_with(['s', 'm', 'h', 'd']));
        }
    }
}

/// A pinned root may claim any version up to `u64::MAX`; walking on from it refuses the
/// next root instead of overflowing `version + 1`.
#[test]
fn rotating_from_the_last_version_does_not_overflow() {
    let pinned =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/demo.root.json")).unwrap();
    let root = mirrorproof::root::TrustedRoot::from_pinned(&pinned, DEFAULT_MAX_BYTES).unwrap();
    let mut last = root.clone();
    last.root.version = u64::MAX;
    assert!(last.rotate(&pinned, DEFAULT_MAX_BYTES).is_err());
}
