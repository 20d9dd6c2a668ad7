//! RSASSA-PSS with SHA-256 and MGF1-SHA-256, verification only, with the salt length
//! recovered from the signature (RFC 8017 section 9.1.2; OpenSSL's `RSA_PSS_SALTLEN_AUTO`),
//! and RSASSA-PKCS1-v1_5 with SHA-256 over the same key shape (securesystemslib's
//! `rsa-pkcs1v15-sha256`, the key type the TUF conformance suite signs with by default).
//!
//! Why not aws-lc-rs, which mirrorproof links anyway: its PSS verifier only takes a salt
//! length fixed in advance (the digest length, the maximum, or a constant), while
//! securesystemslib verifies with `PSS.AUTO` and so accepts every salt length a signer may
//! choose. Its own signer uses the digest length, but other TUF signers (HSMs, cloud KMSes,
//! `openssl pkeyutl` defaults) use the maximum, and a client that refused those would split
//! from python-tuf on the same bytes. The recovery is ten lines of the RFC; the arithmetic is
//! one modular exponentiation with public numbers only, so no secret can leak through timing
//! (the Marvin attack on the `rsa` crate concerns private-key decryption, which never happens
//! here).

use num_bigint::BigUint;
use sha2::{Digest, Sha256};

use super::KeyError;

const H_LEN: usize = 32;

/// The smallest modulus accepted. securesystemslib would take 1024 bits; keys that small
/// are within reach of a well-funded attacker, and no TUF repository in use has one.
pub const MIN_BITS: u64 = 2048;
/// The largest modulus accepted, bounding the work one signature can cost.
pub const MAX_BITS: u64 = 8192;
/// Exponents are at most 33 bits (as in BoringSSL and AWS-LC), so that a hostile key cannot
/// make one verification cost seconds.
const MAX_EXPONENT_BITS: u64 = 33;

/// An RSA public key that passed the size and shape checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPublicKey {
    n: BigUint,
    e: BigUint,
    bits: u64,
}

impl RsaPublicKey {
    /// From the big-endian modulus and exponent of a PKCS #1 RSAPublicKey.
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Result<RsaPublicKey, KeyError> {
        let n = BigUint::from_bytes_be(n);
        let e = BigUint::from_bytes_be(e);
        let bits = n.bits();
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(KeyError::WeakKey("RSA modulus must have 2048 to 8192 bits"));
        }
        if !n.bit(0) {
            return Err(KeyError::MalformedKey("RSA modulus is even"));
        }
        if !e.bit(0) || e.bits() < 2 || e.bits() > MAX_EXPONENT_BITS {
            return Err(KeyError::MalformedKey(
                "RSA exponent must be odd, at least 3 and at most 33 bits",
            ));
        }
        Ok(RsaPublicKey { n, e, bits })
    }

    pub fn bits(&self) -> u64 {
        self.bits
    }

    /// RSAVP1 (RFC 8017 8.2.2 steps 1 and 2): the signature as long as the modulus and
    /// below it, raised to the public exponent. Returns the representative's big-endian
    /// bytes without leading zeros.
    fn rsavp1(&self, signature: &[u8]) -> Result<Vec<u8>, KeyError> {
        // Fits in usize: bits <= 8192.
        let k = self.bits.div_ceil(8) as usize;
        if signature.len() != k {
            return Err(KeyError::MalformedSignature(
                "RSA signature is not as long as the modulus",
            ));
        }
        let s = BigUint::from_bytes_be(signature);
        if s >= self.n {
            return Err(KeyError::MalformedSignature(
                "RSA signature is not below the modulus",
            ));
        }
        Ok(s.modpow(&self.e, &self.n).to_bytes_be())
    }

    /// EMSA-PSS-VERIFY with any salt length, after RSAVP1.
    pub(crate) fn verify_pss_sha256(
        &self,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        let m = self.rsavp1(signature)?;
        let em_bits = (self.bits - 1) as usize;
        let em_len = em_bits.div_ceil(8);
        if m.len() > em_len {
            return Err(KeyError::BadSignature);
        }
        let mut em = vec![0u8; em_len];
        em[em_len - m.len()..].copy_from_slice(&m);
        if emsa_pss_verify_auto(message, &em, em_bits) {
            Ok(())
        } else {
            Err(KeyError::BadSignature)
        }
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.2): the one encoded message the
    /// signature may hold is built and compared byte for byte, never parsed, so no
    /// variant of the padding or of the DigestInfo (absent NULL parameters, BER lengths,
    /// trailing garbage: the shapes of Bleichenbacher's 2006 forgery) can pass.
    pub(crate) fn verify_pkcs1v15_sha256(
        &self,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        let m = self.rsavp1(signature)?;
        let k = self.bits.div_ceil(8) as usize;
        let t_len = SHA256_DIGEST_INFO.len() + H_LEN;
        // At least eight bytes of 0xff padding (step 3 of EMSA-PKCS1-v1_5-ENCODE); always
        // true for the moduli accepted, checked anyway.
        if k < t_len + 11 || m.len() > k {
            return Err(KeyError::BadSignature);
        }
        let mut want = vec![0xffu8; k];
        want[0] = 0x00;
        want[1] = 0x01;
        want[k - t_len - 1] = 0x00;
        want[k - t_len..k - H_LEN].copy_from_slice(&SHA256_DIGEST_INFO);
        want[k - H_LEN..].copy_from_slice(&Sha256::digest(message));
        let mut em = vec![0u8; k];
        em[k - m.len()..].copy_from_slice(&m);
        if em == want {
            Ok(())
        } else {
            Err(KeyError::BadSignature)
        }
    }
}

/// The DER DigestInfo header for SHA-256 (RFC 8017 9.2, note 1), with the NULL parameters
/// RFC 8017 writes and every signer emits.
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// RFC 8017 9.1.2 steps 3 to 14, where step 10 finds the salt instead of checking its
/// length: the padding is zero bytes up to the first non-zero byte, which must be 0x01.
pub(crate) fn emsa_pss_verify_auto(message: &[u8], em: &[u8], em_bits: usize) -> bool {
    let em_len = em.len();
    if em_len < H_LEN + 2 || em_len != em_bits.div_ceil(8) {
        return false;
    }
    let Some((&last, rest)) = em.split_last() else {
        return false;
    };
    if last != 0xbc {
        return false;
    }
    let (masked_db, h) = rest.split_at(em_len - H_LEN - 1);
    // The bits of EM above emBits must be zero.
    let unused = 8 * em_len - em_bits;
    let keep = 0xffu8 >> unused;
    if masked_db.first().is_some_and(|b| b & !keep != 0) {
        return false;
    }
    let mut db = mgf1_sha256(h, masked_db.len());
    for (d, m) in db.iter_mut().zip(masked_db) {
        *d ^= m;
    }
    if let Some(b) = db.first_mut() {
        *b &= keep;
    }
    let Some(one) = db.iter().position(|&b| b != 0) else {
        return false;
    };
    if db[one] != 0x01 {
        return false;
    }
    let salt = &db[one + 1..];
    let m_hash = Sha256::digest(message);
    let mut m_prime = Sha256::new();
    m_prime.update([0u8; 8]);
    m_prime.update(m_hash);
    m_prime.update(salt);
    m_prime.finalize().as_slice() == h
}

/// MGF1 with SHA-256 (RFC 8017 appendix B.2.1).
fn mgf1_sha256(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + H_LEN);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(counter.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    //! Cross-checks against aws-lc-rs: it signs with each salt length it can, and this
    //! verifier must accept exactly what aws-lc-rs's own fixed-length verifier accepts.
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{self, KeyPair as _, RsaPssSaltLength};

    fn ours(kp: &KeyPair) -> RsaPublicKey {
        let der = kp.public_key().as_ref();
        let (n, e) = super::super::der::rsa_public_key(der).unwrap();
        RsaPublicKey::new(n, e).unwrap()
    }

    #[test]
    fn mgf1_matches_rfc_structure() {
        let a = mgf1_sha256(b"seed", 100);
        assert_eq!(a.len(), 100);
        assert_eq!(&a[..32], Sha256::digest(b"seed\0\0\0\0").as_slice());
        assert_eq!(&a[32..64], Sha256::digest(b"seed\0\0\0\x01").as_slice());
    }

    #[test]
    fn accepts_every_salt_length_aws_lc_signs_with() {
        let kp = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let key = ours(&kp);
        let rng = SystemRandom::new();
        let msg = b"canonical json";
        let mut sig = vec![0u8; kp.public_modulus_len()];
        const DIGEST: signature::RsaSignatureEncoding = signature::RSA_PSS_SHA256;
        const MAX: signature::RsaSignatureEncoding =
            signature::RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);
        const ZERO: signature::RsaSignatureEncoding =
            signature::RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(0));
        const TWENTY: signature::RsaSignatureEncoding =
            signature::RSA_PSS_SHA256.with_pss_salt_length(RsaPssSaltLength::Custom(20));
        for enc in [&DIGEST, &MAX, &ZERO, &TWENTY] {
            kp.sign(enc, &rng, msg, &mut sig).unwrap();
            key.verify_pss_sha256(msg, &sig).unwrap();
            assert!(matches!(
                key.verify_pss_sha256(b"canonical jsoN", &sig),
                Err(KeyError::BadSignature)
            ));
        }
        // Every single-bit change anywhere in a signature is refused.
        kp.sign(&DIGEST, &rng, msg, &mut sig).unwrap();
        for i in 0..sig.len() {
            let mut bad = sig.clone();
            bad[i] ^= 1 << (i % 8);
            assert!(
                key.verify_pss_sha256(msg, &bad).is_err(),
                "bit flip at byte {i}"
            );
        }
        // And aws-lc-rs agrees the digest-length signature is good.
        signature::UnparsedPublicKey::new(
            &signature::RSA_PSS_2048_8192_SHA256,
            kp.public_key().as_ref(),
        )
        .verify(msg, &sig)
        .unwrap();
    }

    #[test]
    fn pkcs1v15_accepts_what_aws_lc_signs_and_nothing_else() {
        let kp = KeyPair::generate(KeySize::Rsa3072).unwrap();
        let key = ours(&kp);
        let rng = SystemRandom::new();
        let msg = b"canonical json";
        let mut sig = vec![0u8; kp.public_modulus_len()];
        kp.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
            .unwrap();
        key.verify_pkcs1v15_sha256(msg, &sig).unwrap();
        assert!(matches!(
            key.verify_pkcs1v15_sha256(b"canonical jsoN", &sig),
            Err(KeyError::BadSignature)
        ));
        // The two RSA schemes never accept each other's signatures.
        assert!(key.verify_pss_sha256(msg, &sig).is_err());
        let mut pss = vec![0u8; kp.public_modulus_len()];
        kp.sign(&signature::RSA_PSS_SHA256, &rng, msg, &mut pss)
            .unwrap();
        assert!(key.verify_pkcs1v15_sha256(msg, &pss).is_err());
        // A SHA-512 PKCS #1 signature over the same message is not a SHA-256 one.
        let mut sha512 = vec![0u8; kp.public_modulus_len()];
        kp.sign(&signature::RSA_PKCS1_SHA512, &rng, msg, &mut sha512)
            .unwrap();
        assert!(key.verify_pkcs1v15_sha256(msg, &sha512).is_err());
        for i in 0..sig.len() {
            let mut bad = sig.clone();
            bad[i] ^= 1 << (i % 8);
            assert!(
                key.verify_pkcs1v15_sha256(msg, &bad).is_err(),
                "bit flip at byte {i}"
            );
        }
        assert!(key.verify_pkcs1v15_sha256(msg, &sig[1..]).is_err());
    }

    #[test]
    fn signature_length_must_equal_the_modulus_length() {
        // (A modulus of 8k+1 bits, where EM is one byte shorter than the signature, is
        // covered by the python-generated vectors in tests/trust_keys.rs.)
        let kp = KeyPair::generate(KeySize::Rsa3072).unwrap();
        let key = ours(&kp);
        assert_eq!(key.bits(), 3072);
        let rng = SystemRandom::new();
        let mut sig = vec![0u8; kp.public_modulus_len()];
        kp.sign(&signature::RSA_PSS_SHA256, &rng, b"m", &mut sig)
            .unwrap();
        key.verify_pss_sha256(b"m", &sig).unwrap();
        assert!(key.verify_pss_sha256(b"m", &sig[1..]).is_err());
        let mut long = sig.clone();
        long.insert(0, 0);
        assert!(key.verify_pss_sha256(b"m", &long).is_err());
    }

    #[test]
    fn encoded_message_checks() {
        // A hand-built EM (salt length 0) for em_bits = 8 * len - 1.
        let msg = b"abc";
        let em_len = 64;
        let em_bits = em_len * 8 - 1;
        let m_hash = Sha256::digest(msg);
        let mut mp = Sha256::new();
        mp.update([0u8; 8]);
        mp.update(m_hash);
        let h = mp.finalize();
        let mut db = vec![0u8; em_len - H_LEN - 1];
        let last = db.len() - 1;
        db[last] = 0x01;
        let mask = mgf1_sha256(&h, db.len());
        let mut em: Vec<u8> = db.iter().zip(&mask).map(|(a, b)| a ^ b).collect();
        em[0] &= 0x7f;
        em.extend_from_slice(&h);
        em.push(0xbc);
        assert!(emsa_pss_verify_auto(msg, &em, em_bits));
        assert!(!emsa_pss_verify_auto(b"abd", &em, em_bits));
        let mut top = em.clone();
        top[0] |= 0x80;
        assert!(
            !emsa_pss_verify_auto(msg, &top, em_bits),
            "bit above emBits set"
        );
        let mut trailer = em.clone();
        *trailer.last_mut().unwrap() = 0xbd;
        assert!(!emsa_pss_verify_auto(msg, &trailer, em_bits));
        // The 0x01 separator replaced by 0x02.
        let mut sep = em.clone();
        sep[last] ^= 0x03;
        assert!(!emsa_pss_verify_auto(msg, &sep, em_bits));
    }

    #[test]
    fn key_shape_rules() {
        let mut n = vec![0xffu8; 256];
        let e = [0x01, 0x00, 0x01];
        assert!(RsaPublicKey::new(&n, &e).is_ok());
        assert!(matches!(
            RsaPublicKey::new(&n[..128], &e),
            Err(KeyError::WeakKey(_))
        ));
        assert!(matches!(
            RsaPublicKey::new(&vec![0xff; 1025], &e),
            Err(KeyError::WeakKey(_))
        ));
        assert!(
            RsaPublicKey::new(&n, &[0x01, 0x00, 0x00]).is_err(),
            "even exponent"
        );
        assert!(RsaPublicKey::new(&n, &[0x01]).is_err(), "exponent 1");
        assert!(
            RsaPublicKey::new(&n, &[0x03, 0, 0, 0, 1]).is_err(),
            "34-bit exponent"
        );
        *n.last_mut().unwrap() = 0xfe;
        assert!(RsaPublicKey::new(&n, &e).is_err(), "even modulus");
    }
}
