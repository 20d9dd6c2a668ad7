//! One folder per scheme: what to fetch from a mirror and how verified bytes become an
//! observation ([`crate::run::Scheme`]), and the formats those bytes come in.
//!
//! - [`native`]: signed release documents under a rotating root (the envelope, root and
//!   release formats are shared in [`crate::envelope`], [`crate::root`], [`crate::release`]).
//! - [`files`]: files signed directly, one walk for four formats: [`signify`], [`minisign`],
//!   [`sshsig`] (OpenSSH signatures) and [`note`] (signed notes and tlog checkpoints), plus
//!   GrapheneOS-style unsigned update metadata; [`pinned`] loads their keys and
//!   [`checksums`] reads signed checksum lists.
//!
//! Every format here is checked with the same strict Ed25519 policy as the native format
//! (`keys::PublicKey`: weak, non-canonical and torsion keys refused at load; signatures only
//! through `verify_strict`). The format modules are pure: bytes in, verdict out, no I/O and
//! no clock, so the same code serves `check` (many mirrors) and `verify --key/--sig` (one
//! file). Large signed files are never held in memory where the format allows it: the
//! caller streams them through the digest the signature names ([`Prehash`]) and hands
//! over the digest.

pub mod checksums;
pub mod files;
pub mod minisign;
pub mod native;
pub mod note;
pub mod pinned;
pub mod signify;
pub mod sshsig;
pub mod tuf;

/// Most key and signature files are a few hundred bytes; allowed_signers files and notes
/// are larger but still small. Anything bigger is refused before parsing.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
pub const MAX_SIGNATURE_FILE_BYTES: u64 = 64 * 1024;

/// Why a key, signature or signed message was refused. One line each, so they can go
/// straight into a report's `error` field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    /// The key file is not in the expected format.
    #[error("key: {0}")]
    Key(String),
    /// The signature file is not in the expected format.
    #[error("signature: {0}")]
    Signature(String),
    /// The signature names another key (signify key number, minisign key id, ...).
    #[error("signature was made by key {found}, not the pinned key {expected}")]
    WrongKey { expected: String, found: String },
    /// Well-formed, right key, but the Ed25519 check failed (forged, or the bytes changed).
    #[error("signature does not verify{0}")]
    BadSignature(String),
    /// The signed content itself is malformed (a checksum list, a checkpoint, a note).
    #[error("signed content: {0}")]
    Content(String),
    /// The signature is fine but not acceptable here (namespace, principal, algorithm).
    #[error("{0}")]
    Policy(String),
}

/// The signed message, or the digest the caller streamed it through when the format signs
/// a hash of the file (minisign `ED`, SSHSIG). Lets a 2 GiB image be checked in constant
/// memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    Bytes(&'a [u8]),
    Digest(&'a [u8]),
}

/// The hash a format wants the message streamed through before verification, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prehash {
    /// The whole message is signed (signify, minisign legacy `Ed`): must be in memory.
    None,
    Blake2b512,
    Sha256,
    Sha512,
}

/// The signature formats `verify --key/--sig` and profiles know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Signify,
    Minisign,
    Sshsig,
    Note,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Signify => "signify",
            Format::Minisign => "minisign",
            Format::Sshsig => "sshsig",
            Format::Note => "note",
        }
    }

    pub fn from_scheme(s: &str) -> Option<Format> {
        match s {
            "signify" => Some(Format::Signify),
            "minisign" => Some(Format::Minisign),
            "sshsig" => Some(Format::Sshsig),
            "note" => Some(Format::Note),
            _ => None,
        }
    }
}

/// Decodes standard base64 (with padding) and refuses anything else, so one signature has
/// exactly one accepted encoding.
pub(crate) fn strict_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// A running [`Prehash`] digest, fed chunk by chunk as a signed file streams past.
///
/// SHA-512 comes from aws-lc, which the binary already links for TLS (no system library):
/// its assembly is OpenSSL's, the code `ssh-keygen -Y verify` hashes with, where the `sha2`
/// crate took about 1.4 times as long on x86-64 without SHA-512 instructions. aws-lc picks
/// its vector code on Intel CPUs only; on others it is about as fast as `sha2`
/// (docs/BENCHMARKS.md, "Signature formats"). SHA-256 stays with `sha2`, which uses SHA-NI
/// where the CPU has it and was as fast as the others; BLAKE2b with `blake2`.
pub enum Prehasher {
    Blake2b512(Box<blake2b_simd::State>),
    Sha256(sha2::Sha256),
    Sha512(Box<aws_lc_rs::digest::Context>),
}

impl Prehasher {
    /// `None` for [`Prehash::None`]: that format needs the whole message, not a digest.
    pub fn new(p: Prehash) -> Option<Prehasher> {
        use sha2::Digest;
        match p {
            Prehash::None => None,
            Prehash::Blake2b512 => {
                Some(Prehasher::Blake2b512(Box::new(blake2b_simd::State::new())))
            }
            Prehash::Sha256 => Some(Prehasher::Sha256(sha2::Sha256::new())),
            Prehash::Sha512 => Some(Prehasher::Sha512(Box::new(
                aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA512),
            ))),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Prehasher::Blake2b512(h) => {
                h.update(data);
            }
            Prehasher::Sha256(h) => h.update(data),
            Prehasher::Sha512(h) => h.update(data),
        }
    }

    /// A SHA-512 hasher (artifacts listing sha512 use the same implementation).
    pub fn sha512() -> Prehasher {
        Prehasher::Sha512(Box::new(aws_lc_rs::digest::Context::new(
            &aws_lc_rs::digest::SHA512,
        )))
    }

    /// The digest of a message already in memory, through the same code as a stream.
    pub fn digest(p: Prehash, message: &[u8]) -> Option<Vec<u8>> {
        let mut h = Prehasher::new(p)?;
        h.update(message);
        Some(h.finish())
    }

    pub fn finish(self) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Prehasher::Blake2b512(h) => h.finalize().as_bytes().to_vec(),
            Prehasher::Sha256(h) => h.finalize().to_vec(),
            Prehasher::Sha512(h) => h.finish().as_ref().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::Digest;

    /// The reference for each prehash: the pure-Rust RustCrypto crates.
    fn reference(p: Prehash, data: &[u8]) -> Vec<u8> {
        match p {
            Prehash::Sha512 => sha2::Sha512::digest(data).to_vec(),
            Prehash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Prehash::Blake2b512 => blake2::Blake2b512::digest(data).to_vec(),
            Prehash::None => unreachable!(),
        }
    }

    #[test]
    fn sha512_matches_the_published_test_vectors() {
        // FIPS 180-2 appendix C: "abc", and the empty message.
        let abc = Prehasher::digest(Prehash::Sha512, b"abc").unwrap();
        assert_eq!(
            hex::encode(abc),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        let empty = Prehasher::digest(Prehash::Sha512, b"").unwrap();
        assert_eq!(
            &hex::encode(empty)[..32],
            "cf83e1357eefb8bdf1542850d66d8007"
        );
    }

    #[test]
    fn no_prehash_has_no_hasher() {
        assert!(Prehasher::new(Prehash::None).is_none());
        assert!(Prehasher::digest(Prehash::None, b"x").is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Any message, fed in any split (odd lengths, empty pieces, block boundaries
        /// crossed anywhere), gives the same digest as the RustCrypto crate in one go.
        #[test]
        fn streamed_digests_equal_the_reference(
            data in proptest::collection::vec(any::<u8>(), 0..3000)
                .prop_filter("odd lengths", |d| d.len() % 2 == 1),
            cuts in proptest::collection::vec(0usize..3000, 0..6),
        ) {
            for p in [Prehash::Sha512, Prehash::Sha256, Prehash::Blake2b512] {
                let mut h = Prehasher::new(p).unwrap();
                let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
                cuts.sort_unstable();
                let mut at = 0;
                for c in cuts.into_iter().chain([data.len()]) {
                    h.update(&data[at..c]);
                    at = c;
                }
                prop_assert_eq!(h.finish(), reference(p, &data), "{:?}", p);
            }
        }
    }
}
