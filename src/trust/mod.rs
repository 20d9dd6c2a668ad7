//! Public keys of the kinds TUF metadata names, and strict checks of their signatures.
//!
//! A TUF key object says `keytype`, `scheme` and `keyval.public`; securesystemslib (the
//! reference that python-tuf and the TUF specification's examples use) defines what each
//! combination means, and this module follows it, refusing rather than guessing wherever it
//! departs:
//!
//! | keytype | scheme | public | signature |
//! | --- | --- | --- | --- |
//! | `ed25519` | `ed25519` | hex of 32 bytes | 64 bytes, checked with `verify_strict` |
//! | `ecdsa`, `ecdsa-sha2-nistp256` | `ecdsa-sha2-nistp256` | PEM SubjectPublicKeyInfo, or hex of an uncompressed SEC1 point | DER `ECDSA-Sig-Value` over SHA-256 |
//! | `rsa` | `rsassa-pss-sha256` | PEM SubjectPublicKeyInfo | RSASSA-PSS, SHA-256, MGF1-SHA-256, any salt length |
//! | `rsa` | `rsa-pkcs1v15-sha256` | PEM SubjectPublicKeyInfo | RSASSA-PKCS1-v1_5, SHA-256 |
//!
//! Any other pair is [`KeyError::Unsupported`], which a TUF client treats as a key that
//! cannot sign (the specification lets clients skip keys they do not know), never as an
//! error in the metadata.
//!
//! Where mirrorproof is stricter than securesystemslib, and why:
//! - Ed25519 keys that are small-order or have a torsion component are refused, and
//!   signatures go through `verify_strict` (no non-canonical S or R, no small-order R), as in
//!   [`crate::keys`]: one verdict on every implementation.
//! - A PEM value must be exactly one `PUBLIC KEY` block with at most one line end after it;
//!   `cryptography` skips surrounding text. Keys are not PKCS #1 `RSA PUBLIC KEY` blocks.
//! - RSA moduli have 2048 to 8192 bits and exponents at most 33 bits; RSA signatures are
//!   exactly as long as the modulus (RFC 8017 step 1; OpenSSL takes shorter ones too).
//! - Hex ECDSA keys are accepted although securesystemslib takes PEM only, because
//!   Sigstore's first roots (and go-tuf, which signed them) used hex points.
//!
//! Where it is deliberately as lenient: ECDSA signatures with a high S are accepted. Neither
//! OpenSSL nor securesystemslib normalises S, and Sigstore's hardware-token root keys produce
//! high-S signatures about half the time (its root v6 carries one). So a signature's bytes
//! are malleable: two signatures over the same content must be compared by what they sign,
//! never by their bytes.
//!
//! Primitives: Ed25519 through ed25519-dalek (already the crate's), ECDSA P-256 through
//! aws-lc-rs (already linked for TLS; its DER signature parser refuses BER, trailing bytes
//! and non-minimal integers, as OpenSSL does), and both RSA schemes in [`rsa`] (one key shape, one modpow), because aws-lc-rs
//! cannot verify with the salt length left open, which securesystemslib does. No `p256` or
//! `rsa` crate: one fewer implementation of each curve, and no dependency that carries
//! RUSTSEC-2023-0071. PEM and the two SubjectPublicKeyInfo shapes are read in [`der`].

mod der;
pub mod rsa;

use std::fmt;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ParsedPublicKey};

/// The largest `keyval.public` accepted: an 8192-bit RSA key in PEM is about 1.5 KiB.
pub const MAX_PUBLIC_LEN: usize = 4096;
/// The longest signature accepted: an 8192-bit RSA signature.
pub const MAX_SIGNATURE_LEN: usize = 1024;
/// The longest DER ECDSA P-256 signature: SEQUENCE of two 33-byte INTEGERs.
const MAX_ECDSA_P256_SIG_LEN: usize = 72;
/// How much of an unsupported keytype or scheme an error message keeps.
const MAX_NAME_SHOWN: usize = 64;

/// Why a key could not be loaded or a signature was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A keytype/scheme pair this module does not implement. TUF clients skip such keys.
    #[error("unsupported key type {keytype} with scheme {scheme}")]
    Unsupported { keytype: String, scheme: String },
    #[error("{what} is {len} bytes, more than the {max} allowed")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("malformed public key: {0}")]
    MalformedKey(&'static str),
    #[error("refused public key: {0}")]
    WeakKey(&'static str),
    #[error("malformed signature: {0}")]
    MalformedSignature(&'static str),
    #[error("signature does not verify")]
    BadSignature,
}

/// A public key from TUF metadata, parsed and checked once, ready to verify signatures.
#[derive(Clone)]
pub enum PublicKey {
    Ed25519(crate::keys::PublicKey),
    EcdsaP256(ParsedPublicKey),
    RsaPssSha256(rsa::RsaPublicKey),
    RsaPkcs1v15Sha256(rsa::RsaPublicKey),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicKey::Ed25519(k) => write!(f, "Ed25519({})", k.to_hex()),
            PublicKey::EcdsaP256(k) => write!(f, "EcdsaP256({})", hex::encode(k.as_ref())),
            PublicKey::RsaPssSha256(k) => write!(f, "RsaPssSha256({} bits)", k.bits()),
            PublicKey::RsaPkcs1v15Sha256(k) => write!(f, "RsaPkcs1v15Sha256({} bits)", k.bits()),
        }
    }
}

/// A name from metadata, cut short and made safe to show, for an error message.
fn shown_name(s: &str) -> String {
    let cut = s
        .char_indices()
        .nth(MAX_NAME_SHOWN)
        .map_or(s, |(i, _)| &s[..i]);
    crate::text::shown(cut).into_owned()
}

impl PublicKey {
    /// From a TUF key object's fields: keytype, scheme, keyval.public.
    pub fn from_tuf(keytype: &str, scheme: &str, public: &str) -> Result<PublicKey, KeyError> {
        let kind = match (keytype, scheme) {
            ("ed25519", "ed25519") => Kind::Ed25519,
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => Kind::EcdsaP256,
            ("rsa", "rsassa-pss-sha256") => Kind::RsaPss,
            ("rsa", "rsa-pkcs1v15-sha256") => Kind::RsaPkcs1v15,
            _ => {
                return Err(KeyError::Unsupported {
                    keytype: shown_name(keytype),
                    scheme: shown_name(scheme),
                });
            }
        };
        if public.len() > MAX_PUBLIC_LEN {
            return Err(KeyError::TooLarge {
                what: "public key",
                len: public.len(),
                max: MAX_PUBLIC_LEN,
            });
        }
        match kind {
            Kind::Ed25519 => ed25519(public),
            Kind::EcdsaP256 => ecdsa_p256(public),
            Kind::RsaPss => rsa_key(public).map(PublicKey::RsaPssSha256),
            Kind::RsaPkcs1v15 => rsa_key(public).map(PublicKey::RsaPkcs1v15Sha256),
        }
    }

    /// Strict verification of `signature` (raw bytes, already hex-decoded) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        if signature.len() > MAX_SIGNATURE_LEN {
            return Err(KeyError::TooLarge {
                what: "signature",
                len: signature.len(),
                max: MAX_SIGNATURE_LEN,
            });
        }
        match self {
            PublicKey::Ed25519(key) => {
                if signature.len() != 64 {
                    return Err(KeyError::MalformedSignature(
                        "Ed25519 signature is not 64 bytes",
                    ));
                }
                if key.verify_strict(message, signature) {
                    Ok(())
                } else {
                    Err(KeyError::BadSignature)
                }
            }
            PublicKey::EcdsaP256(key) => {
                if signature.len() > MAX_ECDSA_P256_SIG_LEN {
                    return Err(KeyError::MalformedSignature(
                        "ECDSA P-256 signature is longer than its DER can be",
                    ));
                }
                key.verify_sig(message, signature)
                    .map_err(|_| KeyError::BadSignature)
            }
            PublicKey::RsaPssSha256(key) => key.verify_pss_sha256(message, signature),
            PublicKey::RsaPkcs1v15Sha256(key) => key.verify_pkcs1v15_sha256(message, signature),
        }
    }
}

enum Kind {
    Ed25519,
    EcdsaP256,
    RsaPss,
    RsaPkcs1v15,
}

fn ed25519(public: &str) -> Result<PublicKey, KeyError> {
    if public.len() != 64 {
        return Err(KeyError::MalformedKey("Ed25519 key is not 64 hex digits"));
    }
    let bytes: [u8; 32] = hex::decode(public)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(KeyError::MalformedKey("Ed25519 key is not 64 hex digits"))?;
    crate::keys::PublicKey::from_bytes(&bytes)
        .map(PublicKey::Ed25519)
        .map_err(|e| match e {
            crate::keys::KeyError::WeakKey => KeyError::WeakKey("Ed25519 key is small-order"),
            crate::keys::KeyError::Torsion => {
                KeyError::WeakKey("Ed25519 key has a small-order component")
            }
            _ => KeyError::MalformedKey("Ed25519 key is not a canonical curve point"),
        })
}

fn ecdsa_p256(public: &str) -> Result<PublicKey, KeyError> {
    let point = if public.starts_with("-----") {
        let der = der::pem_public_key(public)?;
        let (alg, point) = der::spki(&der)?;
        if alg != der::ALG_EC_P256 {
            return Err(KeyError::MalformedKey("PEM key is not an ECDSA P-256 key"));
        }
        point.to_vec()
    } else {
        hex::decode(public)
            .map_err(|_| KeyError::MalformedKey("ECDSA key is neither PEM nor hex"))?
    };
    // Only the uncompressed form: it is what SubjectPublicKeyInfo carries in practice and
    // what hex keys were, and one key then has one encoding.
    if point.len() != 65 || point.first() != Some(&0x04) {
        return Err(KeyError::MalformedKey(
            "ECDSA key is not an uncompressed P-256 point",
        ));
    }
    ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &point)
        .map(PublicKey::EcdsaP256)
        .map_err(|_| KeyError::MalformedKey("ECDSA key is not a point on P-256"))
}

fn rsa_key(public: &str) -> Result<rsa::RsaPublicKey, KeyError> {
    let der = der::pem_public_key(public)?;
    let (alg, key) = der::spki(&der)?;
    if alg != der::ALG_RSA {
        return Err(KeyError::MalformedKey("PEM key is not an RSA key"));
    }
    let (n, e) = der::rsa_public_key(key)?;
    rsa::RsaPublicKey::new(n, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_pairs_are_unsupported_not_malformed() {
        for (t, s) in [
            ("rsa", "rsa-pkcs1v15-sha384"),
            ("ecdsa", "ecdsa-sha2-nistp384"),
            ("ed25519", "ecdsa-sha2-nistp256"),
            ("sphincs", "sphincs-shake-128s"),
            ("ecdsa-sha2-nistp256", "ed25519"),
            ("ED25519", "ed25519"),
        ] {
            assert!(
                matches!(
                    PublicKey::from_tuf(t, s, "00"),
                    Err(KeyError::Unsupported { .. })
                ),
                "{t}/{s}"
            );
        }
    }

    #[test]
    fn unsupported_names_are_cut_and_escaped() {
        let long = "x".repeat(10_000);
        let Err(KeyError::Unsupported { keytype, scheme }) =
            PublicKey::from_tuf(&long, "\u{1b}[2J", "")
        else {
            panic!("expected Unsupported");
        };
        assert_eq!(keytype.len(), MAX_NAME_SHOWN);
        assert_eq!(scheme, "\\u{1b}[2J");
    }

    #[test]
    fn oversized_inputs_are_refused_before_parsing() {
        let big = "a".repeat(MAX_PUBLIC_LEN + 1);
        assert!(matches!(
            PublicKey::from_tuf("rsa", "rsassa-pss-sha256", &big),
            Err(KeyError::TooLarge { .. })
        ));
        let sk = crate::keys::SecretKey::from_seed(&[7; 32]).unwrap();
        let key = PublicKey::from_tuf("ed25519", "ed25519", &sk.public().to_hex()).unwrap();
        let sig = sk.sign(b"m");
        key.verify(b"m", &sig).unwrap();
        assert!(matches!(
            key.verify(b"m", &vec![0; MAX_SIGNATURE_LEN + 1]),
            Err(KeyError::TooLarge { .. })
        ));
        assert!(matches!(
            key.verify(b"m", &sig[..63]),
            Err(KeyError::MalformedSignature(_))
        ));
        assert!(matches!(
            key.verify(b"n", &sig),
            Err(KeyError::BadSignature)
        ));
    }

    #[test]
    fn ed25519_uppercase_hex_is_the_same_key() {
        let sk = crate::keys::SecretKey::from_seed(&[9; 32]).unwrap();
        let upper = sk.public().to_hex().to_uppercase();
        let key = PublicKey::from_tuf("ed25519", "ed25519", &upper).unwrap();
        key.verify(b"m", &sk.sign(b"m")).unwrap();
        assert!(PublicKey::from_tuf("ed25519", "ed25519", &format!(" {}", &upper[1..])).is_err());
    }

    #[test]
    fn ecdsa_sec1_hex_and_pem_are_the_same_key() {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let point = kp.public_key().as_ref().to_vec();
        let mut spki = der::ALG_EC_P256.to_vec();
        spki.extend([0x03, 0x42, 0x00]);
        spki.extend(&point);
        let mut outer = vec![0x30, spki.len() as u8];
        outer.extend(spki);
        use base64::Engine;
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&outer)
        );
        let sig = kp.sign(&rng, b"m").unwrap();
        for public in [hex::encode(&point), pem] {
            for keytype in ["ecdsa", "ecdsa-sha2-nistp256"] {
                let key = PublicKey::from_tuf(keytype, "ecdsa-sha2-nistp256", &public).unwrap();
                key.verify(b"m", sig.as_ref()).unwrap();
                assert!(matches!(
                    key.verify(b"n", sig.as_ref()),
                    Err(KeyError::BadSignature)
                ));
            }
        }
        // Compressed points are refused.
        let mut compressed = vec![0x02 | (point[64] & 1)];
        compressed.extend(&point[1..33]);
        assert!(matches!(
            PublicKey::from_tuf("ecdsa", "ecdsa-sha2-nistp256", &hex::encode(compressed)),
            Err(KeyError::MalformedKey(_))
        ));
        // A point off the curve is refused.
        let mut off = point.clone();
        off[64] ^= 1;
        assert!(PublicKey::from_tuf("ecdsa", "ecdsa-sha2-nistp256", &hex::encode(off)).is_err());
    }
}
