//! What one mirror of a TUF repository serves, walked from a pinned root in memory, for
//! `check` to compare mirrors: every document the mirror served that verified (by its
//! digests, so two mirrors' documents of one role and version can be compared), the
//! signed facts of each named target, and one outcome.
//!
//! A view keeps digests, never a document's bytes: a run holds one view per mirror until
//! every mirror is judged, and documents of megabytes on hundreds of mirrors would make
//! memory follow the number of mirrors. The bytes go to the evidence bundle as they
//! arrive (the source's business), and live only as long as the walk.
//!
//! Expiry does not stop the walk here, unlike in a client: a mirror frozen in the past
//! still served genuine documents, and which ones they are is what tells a stale mirror
//! from a forged one. The walk runs with expiry out of the way and the expiry of every
//! verified document is judged after, in workflow order, against the real clock.

use std::sync::Arc;

use url::Url;

use super::cache::VerifyCache;

use super::metadata::{self, ROOT};
use super::source::{self, Source, SourceError};
use super::updater::Updater;
use super::{Config, TufError};
use crate::fetch::{ArtifactMode, ArtifactOutcome};
use crate::time::Timestamp;

/// One verified document as the mirror served it.
pub use super::trusted::Accepted as Document;

/// One named target on this mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetView {
    pub name: String,
    /// Signed length and hashes, from the first role in delegation order listing it;
    /// `None` if no trusted role lists it (or the walk stopped before it could tell).
    pub info: Option<metadata::TargetFile>,
    /// What the mirror served for it, as `artifact_mode` asked.
    pub artifact: ArtifactOutcome,
}

/// How the walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything verified and nothing is expired.
    Ok,
    /// The mirror did not answer, or not with a file (other than the 404 that ends the
    /// root walk).
    Unreachable(String),
    /// The mirror served something that does not verify, or that contradicts what it
    /// signed (hashes, lengths, versions, thresholds, sizes).
    Invalid(String),
    /// The first expired document in workflow order (final root, timestamp, snapshot,
    /// targets, delegated roles): genuine, but a client must not use it.
    Expired { role: String, expires: String },
    /// A document older than one this same walk already trusted.
    Rollback(String),
}

/// What one mirror served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorView {
    pub documents: Vec<Document>,
    pub targets: Vec<TargetView>,
    pub consistent_snapshot: bool,
    pub outcome: Outcome,
    /// The keys of the newest trusted root that signed the newest verified timestamp, by
    /// the first 16 digits of their keyids (each checked alone; the walk checked the
    /// threshold).
    pub timestamp_signers: Vec<String>,
    /// The bytes of the newest root the walk trusted, for a caller that walks other
    /// mirrors from it (the only document a view keeps whole; take it once read).
    pub root: Option<Vec<u8>>,
}

impl MirrorView {
    /// A view of nothing verified, ending with `outcome`.
    pub fn empty(outcome: Outcome) -> MirrorView {
        MirrorView {
            documents: Vec::new(),
            targets: Vec::new(),
            consistent_snapshot: false,
            outcome,
            timestamp_signers: Vec::new(),
            root: None,
        }
    }

    /// The newest verified document of `role`.
    pub fn latest(&self, role: &str) -> Option<&Document> {
        self.documents
            .iter()
            .filter(|d| d.role == role)
            .max_by_key(|d| d.version)
    }
}

/// Walks one mirror from `pinned_root`: roots, timestamp, snapshot, top-level targets,
/// then the delegations each of `targets` needs, and checks the named targets as
/// `artifact_mode` says. Nothing touches the disk.
pub async fn observe_mirror<S: Source>(
    pinned_root: &[u8],
    source: &S,
    metadata_url: &Url,
    targets_url: &Url,
    targets: &[String],
    artifact_mode: ArtifactMode,
) -> MirrorView {
    observe_mirror_with(
        pinned_root,
        source,
        metadata_url,
        targets_url,
        targets,
        artifact_mode,
        &Config::default(),
        crate::time::now(),
    )
    .await
}

/// [`observe_mirror`] with explicit limits and clock.
#[allow(clippy::too_many_arguments)]
pub async fn observe_mirror_with<S: Source>(
    pinned_root: &[u8],
    source: &S,
    metadata_url: &Url,
    targets_url: &Url,
    targets: &[String],
    artifact_mode: ArtifactMode,
    config: &Config,
    now: Timestamp,
) -> MirrorView {
    observe_mirror_shared(
        pinned_root,
        source,
        metadata_url,
        targets_url,
        targets,
        artifact_mode,
        config,
        now,
        None,
    )
    .await
}

/// [`observe_mirror_with`], verifying through `cache`, which the walks of other mirrors
/// of the run share: a document whose exact bytes were verified under the exact same
/// delegator is not verified again (see [`super::cache`]).
#[allow(clippy::too_many_arguments)]
pub async fn observe_mirror_shared<S: Source>(
    pinned_root: &[u8],
    source: &S,
    metadata_url: &Url,
    targets_url: &Url,
    targets: &[String],
    artifact_mode: ArtifactMode,
    config: &Config,
    now: Timestamp,
    cache: Option<&Arc<VerifyCache>>,
) -> MirrorView {
    let mut view = MirrorView::empty(Outcome::Ok);
    // Expiry is judged afterwards; no document expires at the dawn of time.
    let mut up = match Updater::in_memory(
        pinned_root.to_vec(),
        metadata_url.clone(),
        Borrowed(source),
        config.clone(),
        chrono::DateTime::<chrono::Utc>::MIN_UTC,
    ) {
        Ok(up) => up,
        Err(e) => {
            view.outcome = Outcome::Invalid(format!("pinned root: {e}"));
            return view;
        }
    };
    if let Some(c) = cache {
        up.share_verifications(c.clone());
    }
    let mut failure = up.refresh().await.err();
    let mut infos = Vec::new();
    for name in targets {
        let info = if failure.is_none() {
            match up.target_info(name).await {
                Ok(i) => i,
                Err(e) => {
                    failure = Some(e);
                    None
                }
            }
        } else {
            None
        };
        infos.push((name.clone(), info));
    }
    view.consistent_snapshot = up.trusted().root().signed.consistent();
    view.documents = up.verified().to_vec();
    let root = up.trusted().root();
    if let Some(ts) = up.trusted().timestamp() {
        view.timestamp_signers = timestamp_signers(&root.signed, &ts.bytes);
    }
    view.root = Some(root.bytes.clone());
    // The walk's documents (megabytes, perhaps) go now, before the targets are fetched.
    drop(up);
    let hash_prefix = view.consistent_snapshot && config.prefix_targets_with_hash;
    for (name, info) in infos {
        let artifact = match &info {
            None => ArtifactOutcome::Skipped,
            Some(i) => {
                check_target(source, targets_url, &name, i, hash_prefix, artifact_mode).await
            }
        };
        view.targets.push(TargetView {
            name,
            info,
            artifact,
        });
    }
    view.outcome = outcome(&view.documents, failure, now);
    view
}

/// The walk's own failure first (a forged or missing document says more than an old
/// one); then the final root's expiry, then the rest in the order they were verified.
fn outcome(docs: &[Document], failure: Option<TufError>, now: Timestamp) -> Outcome {
    if failure.is_none() {
        return match first_expired(docs, now) {
            Some(d) => Outcome::Expired {
                role: d.role.clone(),
                expires: d.expires.clone(),
            },
            None => Outcome::Ok,
        };
    }
    match failure {
        None => Outcome::Ok,
        Some(TufError::Fetch {
            what,
            error: SourceError::TooLarge(n),
        }) => Outcome::Invalid(format!("{what}: served more than the {n}-byte limit")),
        // The mirror answered, and what it signed names a file it says does not exist: a
        // newer timestamp over a snapshot it hides freezes its clients as surely as a
        // forged one, so it is not a mirror that merely could not be reached.
        Some(TufError::Fetch {
            what,
            error: SourceError::Missing(code),
        }) if docs.iter().any(|d| d.role == super::metadata::TIMESTAMP) => {
            Outcome::Invalid(format!(
                "{what} is named by the signed metadata this mirror serves, but the mirror does not serve it ({})",
                SourceError::Missing(code)
            ))
        }
        Some(e @ TufError::Fetch { .. }) => Outcome::Unreachable(e.to_string()),
        Some(e @ (TufError::Rollback { .. } | TufError::Removed { .. })) => {
            Outcome::Rollback(e.to_string())
        }
        Some(TufError::Expired { role, expires }) => Outcome::Expired { role, expires },
        Some(e) => Outcome::Invalid(e.to_string()),
    }
}

/// The first expired document in workflow order: the final root, then the rest in the
/// order they were verified.
pub fn first_expired(docs: &[Document], now: Timestamp) -> Option<&Document> {
    let final_root = docs.iter().rfind(|d| d.role == ROOT);
    let rest = docs.iter().filter(|d| d.role != ROOT);
    final_root
        .into_iter()
        .chain(rest)
        .find(|d| now >= d.expires_at)
}

/// The timestamp keys of `root` that signed `timestamp`, by the first 16 digits of their
/// keyids (each checked alone).
fn timestamp_signers(root: &metadata::Root, timestamp: &[u8]) -> Vec<String> {
    use super::metadata::{TIMESTAMP, Unverified};
    let (Some(role), Ok(ts)) = (
        root.role(TIMESTAMP),
        Unverified::parse(TIMESTAMP, timestamp),
    ) else {
        return Vec::new();
    };
    role.keyids
        .iter()
        .filter(|id| ts.verify(&root.keys, std::slice::from_ref(*id), 1).is_ok())
        .map(|id| id.chars().take(16).collect())
        .collect()
}

async fn check_target<S: Source>(
    source: &S,
    base: &Url,
    name: &str,
    info: &metadata::TargetFile,
    hash_prefix: bool,
    mode: ArtifactMode,
) -> ArtifactOutcome {
    if mode == ArtifactMode::None {
        return ArtifactOutcome::Skipped;
    }
    let hash = hash_prefix
        .then(|| info.hashes.0.first().map(|(_, h)| h.as_str()))
        .flatten();
    let url = match source::target_url(base, name, hash) {
        Ok(u) => u,
        Err(why) => return ArtifactOutcome::Error(format!("target path: {why}")),
    };
    match source.get(&url, info.length).await {
        Ok(bytes) if bytes.len() as u64 != info.length => ArtifactOutcome::Corrupt(format!(
            "{} bytes where {} were signed",
            bytes.len(),
            info.length
        )),
        Ok(_) if mode == ArtifactMode::Size => ArtifactOutcome::Ok,
        Ok(bytes) => match info.hashes.check(&bytes) {
            Ok(()) => ArtifactOutcome::Ok,
            Err(why) => ArtifactOutcome::Corrupt(why),
        },
        Err(SourceError::Missing(_)) => ArtifactOutcome::Missing,
        Err(SourceError::TooLarge(_)) => {
            ArtifactOutcome::Corrupt(format!("longer than the signed {} bytes", info.length))
        }
        Err(SourceError::Timeout(d)) => ArtifactOutcome::TimedOut(format!("timed out after {d:?}")),
        Err(e) => ArtifactOutcome::Error(e.to_string()),
    }
}

/// Lets the audit hand a borrowed source to an [`Updater`], which owns its source.
struct Borrowed<'a, S>(&'a S);

impl<S: Source> Source for Borrowed<'_, S> {
    fn get(
        &self,
        url: &Url,
        max_bytes: u64,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, SourceError>> + Send {
        self.0.get(url, max_bytes)
    }
}
