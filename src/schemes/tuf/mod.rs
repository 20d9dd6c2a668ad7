//! The Update Framework (TUF 1.0.x): a client that follows the specification's detailed
//! client workflow, for two uses.
//!
//! - [`updater::Updater`]: a client with trusted metadata kept on disk (rollback
//!   protection across runs), which `mirrorproof tuf-client` drives with the command line
//!   of the TUF conformance suite.
//! - [`audit::observe_mirror`]: the same chain walked in memory from a pinned root, keeping
//!   every verified document, for `check` to compare mirrors ([`scheme::Tuf`], the
//!   scheme behind `scheme = "tuf"` profiles).
//!
//! Layers, each usable alone: [`canonical`] (the signed bytes), [`metadata`] (envelopes,
//! thresholds, typed roles, delegation matching), [`trusted`] (the rules for replacing
//! trusted metadata, pure), [`source`] (getting bytes, over [`crate::fetch::Fetcher`]).
//!
//! Where this client is stricter than python-tuf, on purpose:
//! - thresholds count distinct key material, not keyids: one key listed under two keyids
//!   signs once (python-tuf counts it twice);
//! - a document repeating a JSON key anywhere is refused (python's parser keeps the last
//!   value, so two readers could see two meanings under one signature);
//! - integers beyond the 64-bit range cannot be canonicalized here and never verify;
//! - a target path with a `.` or `..` segment is not fetched (URL resolution would fetch
//!   another file), and targets whose quoted name is `.` or `..` are not stored;
//! - hash algorithms other than SHA-2 and BLAKE2b (md5, sha1) count as mismatches;
//! - stored metadata and cached targets are read only from regular files, never through a
//!   symbolic link (a FIFO there would hold the client forever, a link could make another
//!   file trusted metadata); a target's verified bytes replace whatever was in the way.
//!
//! Key types are those of [`crate::trust`], `rsa-pkcs1v15-sha256` among them: it is what
//! the TUF conformance suite's repository simulator signs with unless a test says otherwise.
//!
//! One rule follows the specification where python-tuf relies on an equivalent: after a
//! rotation of timestamp or snapshot keys, the stored timestamp and snapshot are deleted
//! (5.3.11); python-tuf leaves them, and they no longer verify under the new keys.

pub mod audit;
pub mod cache;
pub mod canonical;
pub mod metadata;
pub mod scheme;
pub mod source;
pub mod trusted;
pub mod updater;

pub use source::{FetcherSource, Source, SourceError};

/// Limits and switches, with python-tuf's defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Root versions fetched in one refresh at most; after that the client goes on with
    /// the newest root it has (python-tuf does the same).
    pub max_root_rotations: u64,
    /// Delegated roles visited in one target search at most.
    pub max_delegations: usize,
    pub root_max_bytes: u64,
    pub timestamp_max_bytes: u64,
    /// Used when timestamp does not list snapshot's length.
    pub snapshot_max_bytes: u64,
    /// Used when snapshot does not list a targets role's length.
    pub targets_max_bytes: u64,
    /// In a consistent-snapshot repository, fetch targets as `HASH.NAME`.
    pub prefix_targets_with_hash: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_root_rotations: 256,
            max_delegations: 32,
            root_max_bytes: 512_000,
            timestamp_max_bytes: 16_384,
            snapshot_max_bytes: 2_000_000,
            targets_max_bytes: 5_000_000,
            prefix_targets_with_hash: true,
        }
    }
}

/// Why a TUF operation failed. Names of roles and files come from repositories: show them
/// through [`crate::text::shown`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TufError {
    #[error("fetching {what}: {error}")]
    Fetch { what: String, error: SourceError },
    #[error("{role}: {reason}")]
    Malformed { role: String, reason: String },
    #[error(
        "{role}: signature threshold not met ({valid} valid signature(s) from distinct keys, {threshold} needed)"
    )]
    Threshold {
        role: String,
        valid: usize,
        threshold: u64,
    },
    #[error("{role}: version {found} where {expected} was expected")]
    BadVersion {
        role: String,
        expected: u64,
        found: u64,
    },
    #[error("{role}: version {found} is older than the trusted version {trusted} (rollback)")]
    Rollback {
        role: String,
        trusted: u64,
        found: u64,
    },
    #[error("new snapshot no longer lists {file}, which the trusted one did (rollback)")]
    Removed { file: String },
    #[error("{role} expired at {expires}")]
    Expired { role: String, expires: String },
    #[error("{what}: length or hashes do not match what was signed: {reason}")]
    LengthOrHash { what: String, reason: String },
    #[error("{0} is delegated but snapshot does not list it")]
    NotInSnapshot(String),
    #[error("no trusted role lists target {0}")]
    TargetNotFound(String),
    #[error("target path {0:?} cannot be fetched safely: {1}")]
    BadTargetPath(String, &'static str),
    #[error("{0}")]
    Io(String),
    /// A step taken out of the workflow's order: a bug in the caller, never a repository's
    /// doing.
    #[error("internal error: {0}")]
    Order(&'static str),
}

impl TufError {
    fn io(what: &str, e: &std::io::Error) -> TufError {
        TufError::Io(format!("{what}: {e}"))
    }
}
