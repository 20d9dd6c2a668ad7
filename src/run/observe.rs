//! What one mirror served, as its scheme saw it: the only thing the judge looks at. A
//! scheme turns verified bytes into an [`Observation`]; nothing else of the bytes reaches
//! the judge, so every scheme is judged by the same rules.

use crate::release::Artifact;
use crate::time::Timestamp;

/// One mirror, as its scheme saw it once every round was fetched.
#[derive(Debug, Clone)]
pub enum Observation<D> {
    /// The mirror did not answer, or answered "not found".
    Unreachable(String),
    /// The mirror answered with something no pinned key vouches for.
    Invalid(String),
    /// The mirror served genuine content older than what the scheme itself already
    /// trusts (a TUF snapshot below the one recorded, a role below the version its
    /// parent names): the scheme saw the rollback, so the judge need not.
    Rollback(String),
    /// Content a pinned key signed (or, for [`Proof`] other than verified, content whose
    /// signature is still to be checked against bytes fetched later).
    Signed(Box<Signed<D>>),
}

impl<D> Observation<D> {
    pub fn signed(&self) -> Option<&Signed<D>> {
        match self {
            Observation::Signed(s) => Some(s),
            _ => None,
        }
    }
}

/// Signed content, with what the judge needs to place it among the other mirrors'.
#[derive(Debug, Clone)]
pub struct Signed<D> {
    /// What identifies the content (64 hex): what mirrors are compared by and what the local
    /// state records. SHA-256 of the signed payload, or a log's root hash.
    pub content: String,
    pub order: Order,
    /// After this instant the content is expired (only formats that sign an expiry).
    pub expires: Option<Timestamp>,
    /// When it was published, as signed (for the lag shown in the report).
    pub published: Option<Timestamp>,
    /// The pinned keys that signed it, as the report names them.
    pub signers: Vec<String>,
    /// Files it vouches for, each with its path on the mirror.
    pub artifacts: Vec<(String, Artifact)>,
    /// The signed bytes of the content itself, when they prove something on their own (a
    /// signed note): kept as evidence when two mirrors hold different content for one order.
    pub evidence: Option<String>,
    /// Other signed documents behind the content (a TUF repository's roles): two mirrors
    /// holding differently signed documents of one kind and version are equivocation.
    pub documents: Vec<Document>,
    pub proof: Proof,
    /// What only the scheme reads back (the release itself, an image's signature).
    pub detail: D,
}

/// Where content stands among the mirrors'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// A signed version number: the newest signed version wins.
    Version(u64),
    /// A signed log size (checkpoints): the largest tree wins.
    TreeSize(u64),
    /// A version the mirror claims in unsigned metadata: any mirror can claim any number,
    /// so the version most mirrors claim wins, and one image under two names is a replay.
    Claimed(u64),
    /// Nothing orders it (signify, minisign, SSHSIG): what most mirrors serve wins.
    Unordered,
}

impl Order {
    pub fn number(self) -> Option<u64> {
        match self {
            Order::Version(v) | Order::TreeSize(v) | Order::Claimed(v) => Some(v),
            Order::Unordered => None,
        }
    }
}

/// One signed document behind the content, identified by its kind and signed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The role or kind (`root`, `timestamp`, a delegated role's name, ...).
    pub kind: String,
    pub version: u64,
    /// SHA-256 (hex) of the signed bytes: two digests for one kind and version prove
    /// that the keys signed two histories.
    pub digest: String,
    /// The signed bytes, when they are text worth showing as proof.
    pub evidence: Option<String>,
}

/// Whether the signature is known to cover the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    Verified,
    /// The signature covers bytes that were not fetched (images named by unsigned
    /// metadata, with `--artifacts` other than full).
    NotChecked,
    /// The bytes the signature covers could not be fetched.
    Unfetched(String),
    /// The bytes were fetched and the signature does not cover them.
    Refused(String),
}
