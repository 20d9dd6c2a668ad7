//! Strict Ed25519 test vectors: Wycheproof (`ed25519_test.json`) and the twelve
//! ed25519-speccheck cases from "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko).
//!
//! Every vector goes through the two steps mirrorproof applies to any signature: the public
//! key is loaded with `PublicKey::from_bytes` (a key refused there counts as a rejection),
//! then the signature is checked with `PublicKey::verify_strict`. The verdicts are pinned
//! exactly, so that a dependency bump or a change in src/keys.rs that moves any of them is
//! noticed here.
//!
//! Where the files come from: `fixtures/vectors/*/SOURCE.md`; they are regenerated (and
//! checked against the hashes below) by `scripts/fetch-vectors.sh`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirrorproof::keys::{KeyError, PublicKey};
use sha2::{Digest, Sha256};

const WYCHEPROOF_JSON: &str = "wycheproof/ed25519_test.json";
const WYCHEPROOF_SHA256: &str = "752d2ea7d7c6cf4736381b6cbacb61f8182b126ab7cd9b058f00c50084975536";
const SPECCHECK_JSON: &str = "speccheck/cases.json";
const SPECCHECK_SHA256: &str = "08e47a36d9aead288664930505584f353fff113ab854f2800db1e4f5b3540450";

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vectors")
}

fn read_fixture(rel: &str) -> Vec<u8> {
    let path = vectors_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_fixture(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&read_fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn unhex(v: &serde_json::Value) -> Vec<u8> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("not a hex string: {v}"));
    hex::decode(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// What mirrorproof does with one (public key, message, signature) triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    /// The key loads and `verify_strict` accepts.
    Accept,
    /// `PublicKey::from_bytes` refuses the key as small-order (`KeyError::WeakKey`).
    WeakKey,
    /// `PublicKey::from_bytes` refuses the key as not a (canonical) point, or it is not 32 bytes.
    BadKey,
    /// `PublicKey::from_bytes` refuses the key for its torsion component (mixed order).
    TorsionKey,
    /// The key loads but `verify_strict` rejects the signature.
    BadSig,
}

use Verdict::*;

impl Verdict {
    fn accepted(self) -> bool {
        self == Accept
    }
    fn key_refused(self) -> bool {
        matches!(self, WeakKey | BadKey | TorsionKey)
    }
}

fn load(pk: &[u8]) -> Result<PublicKey, Verdict> {
    let Ok(bytes) = <[u8; 32]>::try_from(pk) else {
        return Err(BadKey);
    };
    match PublicKey::from_bytes(&bytes) {
        Ok(k) => Ok(k),
        Err(KeyError::WeakKey) => Err(WeakKey),
        Err(KeyError::InvalidPoint) => Err(BadKey),
        Err(KeyError::Torsion) => Err(TorsionKey),
        Err(e) => panic!("unexpected key error from from_bytes: {e}"),
    }
}

fn verdict(pk: &[u8], msg: &[u8], sig: &[u8]) -> Verdict {
    match load(pk) {
        Err(v) => v,
        Ok(k) if k.verify_strict(msg, sig) => Accept,
        Ok(_) => BadSig,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The checked-in fixtures are exactly the files SOURCE.md describes.
#[test]
fn fixture_files_match_their_recorded_sha256() {
    for (rel, want, source) in [
        (WYCHEPROOF_JSON, WYCHEPROOF_SHA256, "wycheproof/SOURCE.md"),
        (SPECCHECK_JSON, SPECCHECK_SHA256, "speccheck/SOURCE.md"),
    ] {
        assert_eq!(sha256_hex(&read_fixture(rel)), want, "{rel} changed");
        let doc = String::from_utf8(read_fixture(source)).unwrap();
        assert!(doc.contains(want), "{source} does not record {want}");
    }
    for license in ["wycheproof/LICENSE", "speccheck/LICENSE"] {
        let text = String::from_utf8(read_fixture(license)).unwrap();
        assert!(text.contains("Apache License"), "{license}");
        assert!(text.contains("Version 2.0, January 2004"), "{license}");
    }
}

// ---------------------------------------------------------------------------------------
// Wycheproof
// ---------------------------------------------------------------------------------------

/// Wycheproof tcIds whose expected result is "valid" but whose public key our strict load
/// refuses (small-order or non-canonical A). Such a refusal is a deliberate strictness
/// divergence, not a failure, and is listed here case by case.
///
/// The list is empty for this file: none of its 52 distinct public keys is small-order or
/// non-canonical, so every one of them loads, and every "valid" vector is accepted. (The
/// file's small-order and non-canonical *points* are all in R, in vectors marked "invalid".)
/// The test below asserts the observed set equals this list exactly, so a new upstream
/// vector that adds such a key has to be reviewed and listed here with its reason.
const WYCHEPROOF_VALID_BUT_KEY_REFUSED: &[u64] = &[];

/// Wycheproof "acceptable" vectors (behaviour left to the implementation): (tcId, our verdict).
/// This version of the file has none.
const WYCHEPROOF_ACCEPTABLE: &[(u64, Verdict)] = &[];

/// Per Wycheproof flag: (vectors we accept, vectors we reject). Every vector in this file
/// carries exactly one flag. "Valid", "Ktv" and "TinkOverflow" are the "valid" ones.
const WYCHEPROOF_BY_FLAG: &[(&str, usize, usize)] = &[
    ("CompressedSignature", 0, 4),
    ("InvalidEncoding", 0, 22),
    ("InvalidKtv", 0, 1),
    ("InvalidSignature", 0, 20),
    ("Ktv", 38, 0),
    ("SignatureMalleability", 0, 8),
    ("SignatureWithGarbage", 0, 5),
    ("TinkOverflow", 32, 0),
    ("TruncatedSignature", 0, 3),
    ("Valid", 18, 0),
];

/// All 151 vectors, with the exact split. Note what this file does not tell apart: swapping
/// `verify_strict` for ed25519-dalek's plain `verify` (which still refuses S >= L and
/// non-canonical R, but not small-order R or A) gives the same 151 verdicts here. The
/// small-order checks are pinned by the speccheck cases below (case 2 flips to Accept).
#[test]
fn wycheproof_ed25519_strict_verdicts() {
    let doc = json_fixture(WYCHEPROOF_JSON);
    assert_eq!(doc["algorithm"], "EDDSA");
    assert_eq!(doc["schema"], "eddsa_verify_schema_v1.json");

    let mut total = 0usize;
    let (mut expect_valid, mut expect_invalid) = (0usize, 0usize);
    let (mut accepted, mut rejected, mut refused_keys) = (0usize, 0usize, 0usize);
    let mut mismatches: Vec<String> = Vec::new();
    let mut valid_but_key_refused: Vec<u64> = Vec::new();
    let mut acceptable: Vec<(u64, Verdict)> = Vec::new();
    let mut by_flag: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut seen_ids = std::collections::BTreeSet::new();

    for group in doc["testGroups"].as_array().expect("testGroups") {
        assert_eq!(group["type"], "EddsaVerify");
        assert_eq!(group["publicKey"]["curve"], "edwards25519");
        let pk = unhex(&group["publicKey"]["pk"]);
        for t in group["tests"].as_array().expect("tests") {
            let id = t["tcId"].as_u64().expect("tcId");
            assert!(seen_ids.insert(id), "duplicate tcId {id}");
            let v = verdict(&pk, &unhex(&t["msg"]), &unhex(&t["sig"]));
            total += 1;
            if v.accepted() {
                accepted += 1;
            } else {
                rejected += 1;
            }
            if v.key_refused() {
                refused_keys += 1;
            }
            let flags = t["flags"].as_array().expect("flags");
            assert_eq!(flags.len(), 1, "tcId {id}: expected exactly one flag");
            let e = by_flag
                .entry(flags[0].as_str().unwrap().to_owned())
                .or_default();
            if v.accepted() {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
            match t["result"].as_str().expect("result") {
                "valid" => {
                    expect_valid += 1;
                    if v.key_refused() {
                        valid_but_key_refused.push(id);
                    } else if !v.accepted() {
                        mismatches.push(format!("tcId {id}: valid, but we say {v:?}"));
                    }
                }
                "invalid" => {
                    expect_invalid += 1;
                    if v.accepted() {
                        mismatches.push(format!("tcId {id}: invalid, but we accept it"));
                    }
                }
                "acceptable" => acceptable.push((id, v)),
                other => panic!("tcId {id}: unknown result {other:?}"),
            }
        }
    }

    assert_eq!(mismatches, Vec::<String>::new(), "valid/invalid mismatches");
    assert_eq!(valid_but_key_refused, WYCHEPROOF_VALID_BUT_KEY_REFUSED);
    assert_eq!(acceptable, WYCHEPROOF_ACCEPTABLE);

    // The file's own count, then the exact split, so any change is noticed.
    assert_eq!(doc["numberOfTests"].as_u64(), Some(total as u64));
    assert_eq!(total, 151);
    assert_eq!(
        (expect_valid, expect_invalid, acceptable.len()),
        (88, 63, 0)
    );
    assert_eq!((accepted, rejected), (88, 63));
    // Every rejection happens in verify_strict: no Wycheproof public key is refused at load.
    assert_eq!(refused_keys, 0);

    let want: BTreeMap<String, (usize, usize)> = WYCHEPROOF_BY_FLAG
        .iter()
        .map(|&(f, a, r)| (f.to_owned(), (a, r)))
        .collect();
    assert_eq!(by_flag, want, "per-flag (accepted, rejected)");
}

// ---------------------------------------------------------------------------------------
// ed25519-speccheck ("Taming the many EdDSAs")
// ---------------------------------------------------------------------------------------

/// The twelve speccheck cases, in the order of `cases.json`: what each one is, and what
/// mirrorproof does with it. "small" = small order (in the 8-torsion), "mixed" = a
/// prime-order part plus a non-zero torsion part, "L" = prime order L (torsion-free).
/// "cofactorless" is [S]B = R + [k]A, "cofactored" is [8][S]B = [8]R + [8][k]A, with
/// k = SHA-512(R || A || M) over the bytes as given.
///
/// Policy (ed25519-dalek `verify_strict` plus the key-load checks in src/keys.rs): refuse
/// small-order A at load; reject small-order R, non-canonical R and S >= L; otherwise
/// require the cofactorless equation (so cofactored-only signatures are rejected).
const SPECCHECK: [(usize, &str, Verdict); 12] = [
    // Small-order A (and R), S = 0: passes both equations in every implementation that
    // does not look at orders. Refused when the key is loaded (KeyError::WeakKey).
    (0, "S = 0, small-order A, small-order R", WeakKey),
    // Small-order A again; a key that would "sign" for almost any message. Refused at load.
    (1, "0 < S < L, small-order A, mixed-order R", WeakKey),
    // Mixed-order A: refused at load for its torsion component (verify_strict alone would
    // reject the small-order R too).
    (2, "0 < S < L, mixed-order A, small-order R", TorsionKey),
    // The case verify_strict alone accepts: A and R carry a torsion component, neither is
    // small order, S < L, encodings canonical, cofactorless equation holds. Cofactored and
    // cofactorless verifiers can disagree on such keys, so the key is refused at load: only
    // torsion-free keys (what keygen produces) are ever pinned.
    (
        3,
        "0 < S < L, mixed-order A, mixed-order R, passes cofactorless and cofactored",
        TorsionKey,
    ),
    // Passes only the cofactored equation; the mixed-order key is refused at load (and
    // verify_strict, being cofactorless, would reject the signature anyway).
    (
        4,
        "0 < S < L, mixed-order A, mixed-order R, passes cofactored only",
        TorsionKey,
    ),
    // Passes cofactored only; mixed-order A refused at load.
    (
        5,
        "0 < S < L, mixed-order A, order-L R, passes cofactored only",
        TorsionKey,
    ),
    // S = S' + L: the equations hold with S reduced, but S >= L is refused (malleability).
    (6, "S >= L, order-L A and R", BadSig),
    // S much larger than L (high bits set); refused like case 6.
    (7, "S >> L, order-L A and R", BadSig),
    // R = ecff..ff: y = p - 1 with the x sign bit set, a non-canonical encoding of the
    // order-2 point (0, -1); k was computed over the re-encoded R. The key is case 2's
    // mixed-order A, refused at load; verify_strict would also reject the small-order R.
    (
        8,
        "non-canonical small-order R (k over re-encoded R)",
        TorsionKey,
    ),
    // Same R encoding, k computed over the R bytes as given; refused the same way.
    (
        9,
        "non-canonical small-order R (k over R as given)",
        TorsionKey,
    ),
    // A = ecff..ff: non-canonical encoding of the order-2 point. Refused at load as small
    // order (the point is small order whatever its encoding).
    (
        10,
        "non-canonical small-order A (k over re-encoded A)",
        WeakKey,
    ),
    (
        11,
        "non-canonical small-order A (k over A as given)",
        WeakKey,
    ),
];

#[test]
fn speccheck_strict_verdicts() {
    let cases = json_fixture(SPECCHECK_JSON);
    let cases = cases.as_array().expect("cases.json is an array");
    assert_eq!(cases.len(), 12);

    let mut got = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let v = verdict(
            &unhex(&c["pub_key"]),
            &unhex(&c["message"]),
            &unhex(&c["signature"]),
        );
        got.push((i, v));
    }
    let want: Vec<(usize, Verdict)> = SPECCHECK.iter().map(|&(i, _, v)| (i, v)).collect();
    let table: String = SPECCHECK
        .iter()
        .zip(&got)
        .map(|((i, what, w), (_, g))| format!("\n  {i:>2} {what}: want {w:?}, got {g:?}"))
        .collect();
    assert_eq!(got, want, "speccheck verdicts:{table}");

    // None of the twelve is accepted: 10 are refused at key load (small-order or mixed-order
    // keys), 2 in verify_strict (S >= L).
    let count = |f: fn(&Verdict) -> bool| got.iter().filter(|(_, v)| f(v)).count();
    assert_eq!(count(|v| v.accepted()), 0);
    assert_eq!(count(|v| v.key_refused()), 10);
    assert_eq!(count(|v| *v == BadSig), 2);
}

// ---------------------------------------------------------------------------------------
// Non-canonical public keys (the key-load check in PublicKey::from_bytes)
// ---------------------------------------------------------------------------------------

/// Little-endian encoding of y = p + k (p = 2^255 - 19, 0 <= k <= 18), with the x sign bit.
/// These are all the encodings with y >= p: the non-canonical ones.
fn y_at_least_p(k: u8, sign: bool) -> [u8; 32] {
    assert!(k <= 18);
    let mut b = [0xff; 32];
    b[0] = 0xed + k;
    b[31] = if sign { 0xff } else { 0x7f };
    b
}

/// Non-canonical encodings of small-order points are refused (as weak keys): y = p (y = 0,
/// the order-4 points), y = p + 1 (y = 1, the identity), and the "negative zero" encodings
/// x = 0 with the sign bit set (identity 01..80, and speccheck's ecff..ff = (0, -1)).
#[test]
fn non_canonical_small_order_key_encodings_are_refused() {
    let mut neg_zero_identity = [0u8; 32];
    neg_zero_identity[0] = 1;
    neg_zero_identity[31] = 0x80;
    let mut neg_zero_minus_one = [0xffu8; 32];
    neg_zero_minus_one[0] = 0xec;
    let cases = [
        y_at_least_p(0, false),
        y_at_least_p(0, true),
        y_at_least_p(1, false),
        y_at_least_p(1, true),
        neg_zero_identity,
        neg_zero_minus_one,
    ];
    for b in cases {
        assert_eq!(load(&b).err(), Some(WeakKey), "{}", hex::encode(b));
    }
}

/// Every encoding with y >= p must be refused when a key is loaded: src/keys.rs says
/// `from_bytes` refuses non-canonical encodings ("a key must round-trip") and
/// docs/THREATS.md says non-canonical public keys are refused.
///
/// They are not. `from_bytes` compares `VerifyingKey::as_bytes()` with the input, but
/// ed25519-dalek 3 `as_bytes()` returns the stored input bytes, not a re-encoding of the
/// decoded point, so the comparison is always equal and the check is dead code. Of the 38
/// encodings with y >= p, 14 are not points (refused as InvalidPoint), 4 are small order
/// (refused as WeakKey, see the test above), and 20 (y = p + k for k in 3, 4, 5, 6, 9,
/// 10, 14, 15, 16, 18, each with both sign bits) are mixed-order points that load.
///
/// Impact is low: nobody knows a secret key for these points (their prime-order part has an
/// unknown discrete logarithm), so no signature can verify under them. But such a key is
/// loaded and pinned where an RFC 8032-strict implementation refuses it, and it gets a key ID
/// different from the canonical encoding of the same point. Fix (src/keys.rs): compare with
/// a real re-encoding, e.g. `key.to_edwards().compress().as_bytes() != bytes`.
#[test]
fn non_canonical_public_key_encodings_are_refused() {
    let mut loaded = Vec::new();
    for k in 0..=18u8 {
        for sign in [false, true] {
            let b = y_at_least_p(k, sign);
            if load(&b).is_ok() {
                loaded.push(format!("y = p + {k}, sign {}", u8::from(sign)));
            }
        }
    }
    assert!(
        loaded.is_empty(),
        "{} non-canonical keys load: {loaded:#?}",
        loaded.len()
    );
}

/// The torsion-free policy: accept only public keys of prime order L. Not what src/keys.rs
/// documents (it refuses small-order keys only, like verify_strict), so this is not a bug
/// in src, but it is what "same verdict on every implementation" needs: with a mixed-order
/// A, cofactored and cofactorless verifiers disagree (speccheck cases 3-5 are accepted by one
/// kind and rejected by the other). With a torsion-free A, verify_strict forces R = [S]B -
/// [k]A to be torsion-free too, and every verifier agrees. Possible fix (src/keys.rs): refuse
/// `!key.to_edwards().is_torsion_free()` at load. This would turn speccheck case 3 from
/// Accept into a refused key.
#[test]
fn public_keys_with_a_torsion_component_are_refused() {
    // The two mixed-order keys of speccheck (cases 2, 8, 9 and cases 3, 4, 5).
    for pk in [
        "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
        "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
    ] {
        assert!(
            load(&hex::decode(pk).unwrap()).is_err(),
            "mixed-order key {pk} loads"
        );
    }
}
