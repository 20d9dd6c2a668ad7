//! Ed25519 keys, key IDs and strict signature checks.
//!
//! Everything here is deliberately strict: a signature is only ever accepted through
//! `verify_strict`, and public keys that are small-order (weak) are refused when they are
//! loaded, so that the same bytes give the same verdict on every platform and implementation.

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Errors about key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("public key is not 64 hex characters (32 bytes)")]
    BadPublicEncoding,
    #[error("public key is not a valid canonical Ed25519 point")]
    InvalidPoint,
    #[error("public key is a weak (small-order) point")]
    WeakKey,
    #[error("public key has a small-order (torsion) component")]
    Torsion,
    #[error("key id {0} does not equal the SHA-256 of its public key")]
    KeyIdMismatch(String),
    #[error("secret key file {path}: {reason}")]
    SecretFile { path: String, reason: String },
    #[error("public key file {path}: {reason}")]
    PublicFile { path: String, reason: String },
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A key ID: lowercase hex of SHA-256 over the 32 raw public-key bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    pub fn of(public: &[u8; 32]) -> KeyId {
        KeyId(hex::encode(Sha256::digest(public)))
    }
    /// Wraps a key ID string as found in a document, without checking it; lookups against
    /// pinned keys are what give it meaning.
    pub fn from_untrusted(s: &str) -> KeyId {
        KeyId(s.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The first 16 hex characters, for humans.
    pub fn short(&self) -> &str {
        self.0.get(..16).unwrap_or(&self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.short())
    }
}

/// A pinned Ed25519 public key that passed the strict checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: KeyId,
}

impl PublicKey {
    /// Loads raw key bytes, refusing non-canonical encodings and small-order points.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        let point = key.to_edwards();
        // Decompression accepts a few non-canonical y encodings (y >= p); a key must
        // re-encode to exactly its bytes, or one point would have two key IDs.
        if point.compress().as_bytes() != bytes {
            return Err(KeyError::InvalidPoint);
        }
        // A key with a torsion component is one that cofactored and cofactorless
        // verifiers judge differently; refusing it keeps one verdict everywhere.
        if !point.is_torsion_free() {
            return Err(KeyError::Torsion);
        }
        Ok(PublicKey {
            key,
            id: KeyId::of(bytes),
        })
    }

    pub fn from_hex(s: &str) -> Result<PublicKey, KeyError> {
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(KeyError::BadPublicEncoding);
        }
        let bytes: [u8; 32] = hex::decode(s)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or(KeyError::BadPublicEncoding)?;
        PublicKey::from_bytes(&bytes)
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    /// Strict verification: rejects S >= L, non-canonical R and small-order R or A.
    pub fn verify_strict(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let sig = Signature::from_bytes(&bytes);
        self.key.verify_strict(message, &sig).is_ok()
    }
}

/// A secret signing key. Never printed: `Debug` shows only the key ID.
pub struct SecretKey {
    key: SigningKey,
    public: PublicKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.public.id().short())
    }
}

#[derive(Serialize, Deserialize)]
struct SecretKeyFile {
    #[serde(rename = "type")]
    kind: String,
    keytype: String,
    keyid: String,
    seed: String,
}

/// The public half as written by `keygen`, for people to pass around.
#[derive(Serialize, Deserialize)]
pub struct PublicKeyFile {
    pub keytype: String,
    pub keyid: String,
    pub public: String,
}

const SECRET_KIND: &str = "mirrorproof-secret-key";

impl SecretKey {
    pub fn generate() -> Result<SecretKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        SecretKey::from_seed(&seed)
    }

    pub fn from_seed(seed: &[u8; 32]) -> Result<SecretKey, KeyError> {
        let key = SigningKey::from_bytes(seed);
        let public = PublicKey::from_bytes(key.verifying_key().as_bytes())?;
        Ok(SecretKey { key, public })
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Serialised secret key file (JSON). Callers must write it with mode 0600.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let file = SecretKeyFile {
            kind: SECRET_KIND.into(),
            keytype: "ed25519".into(),
            keyid: self.public.id().to_string(),
            seed: hex::encode(self.key.to_bytes()),
        };
        let mut out = serde_json::to_vec_pretty(&file).unwrap_or_default();
        out.push(b'\n');
        out
    }

    pub fn public_file(&self) -> PublicKeyFile {
        PublicKeyFile {
            keytype: "ed25519".into(),
            keyid: self.public.id().to_string(),
            public: self.public.to_hex(),
        }
    }

    pub fn load(path: &Path) -> Result<SecretKey, KeyError> {
        let bad = |reason: &str| KeyError::SecretFile {
            path: path.display().to_string(),
            reason: reason.to_owned(),
        };
        let bytes =
            crate::fsutil::read_limited(path, 64 * 1024).map_err(|source| KeyError::Io {
                path: path.display().to_string(),
                source,
            })?;
        let file: SecretKeyFile =
            serde_json::from_slice(&bytes).map_err(|_| bad("not a mirrorproof secret key file"))?;
        if file.kind != SECRET_KIND || file.keytype != "ed25519" {
            return Err(bad("not a mirrorproof ed25519 secret key"));
        }
        let seed: [u8; 32] = hex::decode(&file.seed)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("seed is not 64 hex characters"))?;
        let key = SecretKey::from_seed(&seed)?;
        if key.public.id().as_str() != file.keyid {
            return Err(bad("keyid does not match the key"));
        }
        Ok(key)
    }
}

/// Reads a public key from a file: either a `keygen` `.pub` JSON file or a bare hex key.
pub fn load_public(path: &Path) -> Result<PublicKey, KeyError> {
    let bad = |reason: &str| KeyError::PublicFile {
        path: path.display().to_string(),
        reason: reason.to_owned(),
    };
    let bytes = crate::fsutil::read_limited(path, 64 * 1024).map_err(|source| KeyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8"))?;
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let file: PublicKeyFile =
            serde_json::from_str(trimmed).map_err(|_| bad("not a mirrorproof public key file"))?;
        let key = PublicKey::from_hex(&file.public)?;
        if key.id().as_str() != file.keyid {
            return Err(KeyError::KeyIdMismatch(file.keyid));
        }
        Ok(key)
    } else {
        PublicKey::from_hex(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_sha256_of_public_bytes() {
        let k = SecretKey::from_seed(&[7u8; 32]).unwrap();
        let expect = hex::encode(Sha256::digest(k.public().key.as_bytes()));
        assert_eq!(k.public().id().as_str(), expect);
    }

    #[test]
    fn weak_and_malformed_keys_are_refused() {
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_bytes(&identity),
            Err(KeyError::WeakKey)
        ));
        assert!(PublicKey::from_hex("zz").is_err());
        assert!(PublicKey::from_hex(&"AB".repeat(32)).is_err());
    }

    #[test]
    fn sign_verify_and_tamper() {
        let k = SecretKey::from_seed(&[9u8; 32]).unwrap();
        let sig = k.sign(b"hello");
        assert!(k.public().verify_strict(b"hello", &sig));
        assert!(!k.public().verify_strict(b"hellp", &sig));
        assert!(!k.public().verify_strict(b"hello", &sig[..63]));
    }

    #[test]
    fn secret_file_round_trips() {
        let k = SecretKey::from_seed(&[3u8; 32]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.key");
        std::fs::write(&p, k.to_file_bytes()).unwrap();
        let back = SecretKey::load(&p).unwrap();
        assert_eq!(back.public(), k.public());
        assert!(!format!("{back:?}").contains(&hex::encode([3u8; 32])));
    }
}
