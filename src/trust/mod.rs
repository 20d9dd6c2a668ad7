//! Public keys as signed-metadata formats (TUF first) name them: a key type, a signature
//! scheme and an encoded public value.
//!
//! TEMPORARY (branch h-tuf): a minimal stand-in with the agreed API, Ed25519 only, so the
//! TUF client can be built and tested before the full module (ECDSA P-256, RSA-PSS) from
//! branch h-trust is merged. Verification goes through [`crate::keys::PublicKey`], whose
//! strict rules (no weak or torsion keys, `verify_strict`) hold here too.

/// A public key that can check signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519(crate::keys::PublicKey),
}

/// Why a key could not be used, or a signature did not verify.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key type or scheme this build does not know. Callers that read a list of keys
    /// skip such keys rather than refusing the list: a root may name keys for clients
    /// other than this one.
    #[error("unsupported key type {keytype:?} with scheme {scheme:?}")]
    Unsupported { keytype: String, scheme: String },
    #[error("invalid public key: {0}")]
    Invalid(String),
    #[error("signature does not verify")]
    BadSignature,
}

impl PublicKey {
    /// From a TUF key object's fields: keytype, scheme, keyval.public.
    pub fn from_tuf(keytype: &str, scheme: &str, public: &str) -> Result<PublicKey, KeyError> {
        match (keytype, scheme) {
            ("ed25519", "ed25519") => crate::keys::PublicKey::from_hex(public)
                .map(PublicKey::Ed25519)
                .map_err(|e| KeyError::Invalid(e.to_string())),
            _ => Err(KeyError::Unsupported {
                keytype: keytype.chars().take(64).collect(),
                scheme: scheme.chars().take(64).collect(),
            }),
        }
    }

    /// Strict verification of `signature` (raw bytes, already hex-decoded) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        match self {
            PublicKey::Ed25519(k) => {
                if k.verify_strict(message, signature) {
                    Ok(())
                } else {
                    Err(KeyError::BadSignature)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_signs_and_other_types_are_unsupported() {
        let sk = crate::keys::SecretKey::from_seed(&[7; 32]).unwrap();
        let pk = PublicKey::from_tuf("ed25519", "ed25519", &sk.public().to_hex()).unwrap();
        let sig = sk.sign(b"msg");
        assert!(pk.verify(b"msg", &sig).is_ok());
        assert!(pk.verify(b"msh", &sig).is_err());
        assert!(matches!(
            PublicKey::from_tuf("ecdsa", "ecdsa-sha2-nistp256", "x"),
            Err(KeyError::Unsupported { .. })
        ));
        assert!(matches!(
            PublicKey::from_tuf("ed25519", "ed25519", "zz"),
            Err(KeyError::Invalid(_))
        ));
    }
}
