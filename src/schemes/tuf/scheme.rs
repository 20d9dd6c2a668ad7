//! A TUF repository as a [`Scheme`] of the one pipeline: `check` with `scheme = "tuf"`.
//!
//! **Round one.** Every mirror's chain is walked in memory from the pinned root
//! ([`audit::observe_mirror_with`]): roots, timestamp, snapshot, top-level targets, and the
//! delegations each named target needs. Every file a mirror serves goes to the evidence
//! bundle as it arrives, under the name it was asked for (round two's under `again/`).
//!
//! **Round two.** A root rotation proven on one mirror (each new root signed by a
//! threshold of the old root's keys and of its own) holds for all: a mirror that does not
//! serve it may be hiding it, because the rotation revoked keys it still signs with. So
//! when mirrors end their chains at different roots and the newest one is not split
//! (two different roots of one version are equivocation, shown by the judge), every
//! mirror behind it is walked again from it. A mirror whose metadata verifies only under
//! its own older root is kept as it was (so it is `stale`) when its timestamp is not newer
//! than what the newest root's keys signed; a newer one is `invalid`: only keys the
//! rotation revoked vouch for it. One that serves the same timestamp as the others but not
//! the newest root is `stale` (the judge: a document behind the same content), as its
//! clients never learn the rotation.
//! A mirror asked twice must answer alike: a document of one role and version that it
//! served otherwise to each round goes to the judge twice, which makes it `equivocating`.
//!
//! **Observation.** The content mirrors are compared by is the timestamp: SHA-256 of the
//! canonical bytes of its `signed` part (never of the file: ECDSA signatures are
//! malleable, so one signed timestamp may come in several encodings), ordered by its
//! version. Roots, snapshot, targets and delegated roles go to the judge as documents:
//! two mirrors holding differently signed documents of one role and version are
//! `equivocating`. The content expires with the first expired document in workflow order.
//! Named targets become artifacts, checked on the latest mirrors by the artifacts stage
//! (one streamed request, every listed SHA-256 and SHA-512, never more than length + 1
//! bytes; `HASH.NAME` in consistent-snapshot repositories).
//!
//! **State.** The pipeline records the timestamp (version and digest); this scheme also
//! records the snapshot under the channel `CHANNEL.snapshot` of the same state key, so
//! that a timestamp key alone cannot roll clients back to an older snapshot: a mirror
//! serving an older snapshot than recorded is `rollback`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use url::Url;

use super::audit::{self, MirrorView, Outcome};
use super::cache::VerifyCache;
use super::metadata::{self, ROOT, SNAPSHOT, TIMESTAMP, Unverified};
use super::source::{Source, SourceError};
use super::{Config, TufError};
use crate::evidence::Trust;
use crate::fetch::ArtifactMode;
use crate::profile::{Location, Mirror, Profile, TufSource};
use crate::release::{Artifact, Expected};
use crate::report::{Report, RootReport};
use crate::run::{
    self, Audit, CheckError, CheckOptions, Document, Keep, Observation, Order, Proof, Scheme,
    Signed, Visit,
};
use crate::state::{Advance, ChannelState, StateStore};
use crate::time::{self, Timestamp};

/// The name reports give the scheme.
pub const SCHEME: &str = "tuf";

/// The state key a TUF profile records under: the scheme and the profile's name.
pub fn state_key(profile_name: &str) -> String {
    format!("{SCHEME}:{profile_name}")
}

/// The state channel the snapshot is recorded under, beside the timestamp's.
fn snapshot_channel(channel: &str) -> String {
    format!("{channel}.{SNAPSHOT}")
}

/// One run of a TUF profile; see the module documentation.
pub struct Tuf {
    pinned: Arc<Vec<u8>>,
    pinned_version: u64,
    pinned_root: RootReport,
    source: TufSource,
    config: Config,
    key: String,
    channel: String,
    now: Timestamp,
    store: Option<StateStore>,
    snapshot_floor: Option<ChannelState>,
    shared: Mutex<Shared>,
    /// Walks past their timestamp at once, at most (see [`walk_slots`]).
    walks: tokio::sync::Semaphore,
    /// Verifications shared by every walk of the run: hundreds of mirrors serving the
    /// same megabytes are verified once, so a sweep's verdicts do not depend on how busy
    /// the checker is (see [`super::cache`]).
    verified: Arc<VerifyCache>,
}

/// Bytes of snapshot and targets documents that walks in flight may hold at once, as
/// fetched (parsing and verifying takes a few times more, for as long as a walk lasts).
const WALK_BUDGET: u64 = 48 * 1024 * 1024;

/// How many walks may go past their timestamp at once: as many as `--concurrency` allows
/// and [`WALK_BUDGET`] holds at the largest snapshot and targets a mirror may send. A walk
/// holds every document it verified until it ends, so without this bound a sweep held
/// the documents of every mirror at once; roots and timestamps (what a dead or silent
/// mirror is found out by) are fetched before a slot is taken, so mirrors that never
/// answer do not hold slots for their timeouts.
fn walk_slots(config: &Config, fetch: &crate::fetch::FetchConfig) -> usize {
    let most = fetch.max_metadata_bytes.max(1);
    let per_walk = config.snapshot_max_bytes.min(most) + config.targets_max_bytes.min(most);
    let fit = usize::try_from(WALK_BUDGET / per_walk.max(1)).unwrap_or(usize::MAX);
    fit.clamp(1, fetch.concurrency.max(1))
}

/// What the rounds learn across mirrors.
#[derive(Default)]
struct Shared {
    rounds: u32,
    /// The newest root proven on some mirror, when mirrors were walked again from it.
    newest: Option<(u64, Arc<Vec<u8>>)>,
    /// The bytes of the newest root a round-one walk reached (the first one seen of that
    /// version): round two starts from it. One root, not one per mirror.
    candidate: Option<(u64, [u8; 32], Arc<Vec<u8>>)>,
    /// The newest timestamp version verified under `newest`.
    newest_timestamp: u64,
}

/// One mirror: its own walk, and the walk from the newest root if it was walked again.
pub struct TufMirror {
    first: MirrorView,
    again: Option<MirrorView>,
}

/// What the report and the state need of one mirror's verified metadata.
#[derive(Debug, Clone)]
pub struct TufDetail {
    /// The newest root the mirror's chain reached: (version, canonical digest, expires).
    pub root: (u64, String, String),
    /// (version, canonical digest) of the snapshot, if it verified.
    pub snapshot: Option<(u64, String)>,
    /// The first expired document in workflow order: (role, version, expires).
    pub expired: Option<(String, u64, String)>,
    /// Named targets no trusted role lists on this mirror.
    pub unlisted: Vec<String>,
    /// Named targets listed only with hash algorithms the artifacts stage cannot compute.
    pub unchecked: Vec<String>,
    /// The root this mirror was judged under, when it was not its own (round two).
    pub judged_under: Option<u64>,
    /// The version of its snapshot, when the local state recorded another snapshot under
    /// that version.
    pub snapshot_against_state: Option<u64>,
}

/// What a TUF run hands back besides the report.
#[derive(Debug, Clone, Default)]
pub struct TufLatest {
    /// The pinned root this run started from, as read once at load: an evidence bundle
    /// must carry these bytes, not whatever the file holds when the run is over.
    pub pinned: Arc<Vec<u8>>,
    pub pinned_version: u64,
    /// The newest root proven in this run (version).
    pub root_version: Option<u64>,
    /// Whether the snapshot was recorded in the state.
    pub snapshot_recorded: bool,
    /// Documents verified in this run: distinct (document, delegator, role) triples, not
    /// copies (see [`super::cache`]).
    pub verifications: u64,
}

/// Reads and checks the pinned root: a root signed by a threshold of its own keys (it may
/// be expired: clients update from an old root through the chain of its successors).
pub fn load_pinned(path: &std::path::Path, config: &Config) -> Result<(Vec<u8>, u64), CheckError> {
    load_pinned_root(path, config).map(|(bytes, r)| (bytes, r.version))
}

/// [`load_pinned`], with what a report says of that root (version, digest of its signed
/// part, expiry): the header names it when no mirror got further.
fn load_pinned_root(
    path: &std::path::Path,
    config: &Config,
) -> Result<(Vec<u8>, RootReport), CheckError> {
    let shown = path.display().to_string();
    let err = |reason: String| CheckError::PinnedRoot {
        path: shown.clone(),
        reason,
    };
    let bytes =
        crate::fsutil::read_limited(path, config.root_max_bytes).map_err(|e| err(e.to_string()))?;
    let trusted =
        super::trusted::TrustedSet::new(bytes.clone(), chrono::DateTime::<chrono::Utc>::MIN_UTC)
            .map_err(|e| err(e.to_string()))?;
    let root = trusted.root().accepted(ROOT);
    let report = RootReport {
        version: root.version,
        payload_sha256: hex::encode(root.signed_sha256),
        expires: root.expires,
    };
    Ok((bytes, report))
}

impl Tuf {
    /// The scheme for one run of `profile` (which must be a TUF profile).
    pub fn new(profile: &Profile, opts: &CheckOptions) -> Result<Tuf, CheckError> {
        let source = profile
            .tuf
            .clone()
            .ok_or_else(|| CheckError::Scheme(profile.scheme.clone()))?;
        let config = Config::default();
        let (pinned, pinned_root) = load_pinned_root(&profile.root, &config)?;
        let pinned_version = pinned_root.version;
        let walks = tokio::sync::Semaphore::new(walk_slots(&config, &opts.fetch));
        let mut tuf = Tuf {
            pinned: Arc::new(pinned),
            pinned_version,
            pinned_root,
            source,
            config,
            key: state_key(&profile.name),
            channel: opts.channel.clone(),
            now: opts.now,
            store: None,
            snapshot_floor: None,
            shared: Mutex::new(Shared::default()),
            walks,
            verified: Arc::new(VerifyCache::new()),
        };
        tuf.use_state(opts.state.clone())?;
        Ok(tuf)
    }

    /// Where the run reads and records the snapshot version beside the timestamp's (the
    /// pipeline's state stage records only the ordered content): set after loading, as
    /// where the state lives can depend on [`Scheme::state_key`].
    pub fn use_state(&mut self, store: Option<StateStore>) -> Result<(), CheckError> {
        self.snapshot_floor = match &store {
            Some(s) => s.load(&self.key, &snapshot_channel(&self.channel))?,
            None => None,
        };
        self.store = store;
        Ok(())
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        // A poisoned lock only means another task panicked; the data is whole.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Walks one mirror from `root`; `again`: round two, whose files are kept under
    /// `again/` in the mirror's evidence, beside (never over) what round one kept.
    async fn walk(&self, visit: &Visit, root: &[u8], again: bool) -> MirrorView {
        let Some((base, source)) = VisitSource::new(visit, &self.walks, again) else {
            return MirrorView::empty(Outcome::Invalid("no metadata URL for this mirror".into()));
        };
        let mut view = audit::observe_mirror_shared(
            root,
            &source,
            &base,
            &base,
            &self.source.targets,
            ArtifactMode::None,
            &self.config,
            self.now,
            Some(&self.verified),
        )
        .await;
        // Offered while the walk is fresh, then dropped: views outlive the rounds.
        if let (Some(bytes), Some(d)) = (view.root.take(), view.latest(ROOT)) {
            let mut shared = self.shared();
            if shared
                .candidate
                .as_ref()
                .is_none_or(|(v, _, _)| d.version > *v)
            {
                shared.candidate = Some((d.version, d.signed_sha256, Arc::new(bytes)));
            }
        }
        view
    }

    /// The view the mirror is judged by, and the root it was judged under if not its own.
    fn judged(&self, m: TufMirror) -> Result<(MirrorView, Option<u64>), String> {
        let Some(again) = m.again else {
            return Ok((m.first, None));
        };
        // One mirror asked twice for one role and version must answer alike: what it
        // served to one round and not to the other goes to the judge too, which sees two
        // signed documents under one name (equivocation) whichever view is judged.
        let (first_only, again_only) = (conflicts(&m.first, &again), conflicts(&again, &m.first));
        let (newest, newest_ts) = {
            let s = self.shared();
            (s.newest.as_ref().map_or(0, |(v, _)| *v), s.newest_timestamp)
        };
        if verified_timestamp(&again) {
            // Its own roots, then what verified under the newest root (whose first
            // document is that root, which this mirror did not serve).
            let mut view = again;
            let own_roots = m.first.documents.iter().filter(|d| d.role == ROOT).cloned();
            let rest: Vec<_> = view.documents.drain(..).skip(1).collect();
            view.documents = own_roots.chain(first_only).chain(rest).collect();
            return Ok((view, Some(newest)));
        }
        let mut first = m.first;
        first.documents.splice(0..0, again_only);
        let m = TufMirror { first, again: None };
        let own_ts = m.first.latest(TIMESTAMP).map(|d| d.version);
        match own_ts {
            Some(v) if verified_timestamp(&m.first) && v <= newest_ts => Ok((m.first, None)),
            Some(v) if verified_timestamp(&m.first) => Err(format!(
                "timestamp {v} verifies only under root {} this mirror serves, not under root {newest} that other mirrors serve (keys the rotation revoked vouch for it): {}",
                m.first.latest(ROOT).map_or(0, |d| d.version),
                outcome_text(&again.outcome)
            )),
            _ => Ok((m.first, None)),
        }
    }

    fn observation(&self, view: MirrorView, judged_under: Option<u64>) -> Observation<TufDetail> {
        match &view.outcome {
            Outcome::Unreachable(w) => return Observation::Unreachable(w.clone()),
            Outcome::Invalid(w) => return Observation::Invalid(w.clone()),
            Outcome::Rollback(w) => return Observation::Rollback(w.clone()),
            Outcome::Ok | Outcome::Expired { .. } => {}
        }
        let (Some(ts), Some(root)) = (view.latest(TIMESTAMP), view.latest(ROOT)) else {
            return Observation::Invalid("no verified timestamp".into());
        };
        let snapshot = view
            .latest(SNAPSHOT)
            .map(|d| (d.version, hex::encode(d.signed_sha256)));
        if let (Some(floor), Some((v, _))) = (&self.snapshot_floor, &snapshot)
            && *v < floor.version
        {
            return Observation::Rollback(format!(
                "snapshot {v} is older than snapshot {}, already verified here (timestamp {})",
                floor.version, ts.version
            ));
        }
        let signers = view.timestamp_signers.clone();
        let expired = audit::first_expired(&view.documents, self.now)
            .map(|d| (d.role.clone(), d.version, d.expires.clone()));
        // Every document counts; the content expires with the first of them to expire.
        let expires = view
            .documents
            .iter()
            .filter(|d| d.role != ROOT || d.version == root.version)
            .map(|d| d.expires_at)
            .min();
        let mut artifacts = Vec::new();
        let mut unlisted = Vec::new();
        let mut unchecked = Vec::new();
        for t in &view.targets {
            let Some(info) = &t.info else {
                unlisted.push(t.name.clone());
                continue;
            };
            match artifact(
                &t.name,
                info,
                view.consistent_snapshot && self.config.prefix_targets_with_hash,
            ) {
                Some(a) => artifacts.push(a),
                None => unchecked.push(t.name.clone()),
            }
        }
        // The timestamp is the content; it is a document too only when this mirror served
        // two of one version (to two rounds).
        let split_timestamp = |d: &audit::Document| {
            view.documents.iter().any(|o| {
                o.role == TIMESTAMP && o.version == d.version && o.signed_sha256 != d.signed_sha256
            })
        };
        let mut documents: Vec<Document> = view
            .documents
            .iter()
            .filter(|d| d.role != TIMESTAMP || split_timestamp(d))
            .map(|d| Document {
                kind: d.role.clone(),
                version: d.version,
                digest: hex::encode(d.signed_sha256),
                evidence: None,
            })
            .collect();
        // The snapshot recorded here under this version, when it was another: the judge
        // sees two signed snapshots of one version, as when two mirrors disagree (the
        // timestamp alone moved forward, so the state of the timestamp cannot tell).
        let mut snapshot_against_state = None;
        if let (Some(floor), Some((v, digest))) = (&self.snapshot_floor, &snapshot)
            && *v == floor.version
            && *digest != floor.payload_sha256
        {
            snapshot_against_state = Some(*v);
            documents.push(Document {
                kind: SNAPSHOT.into(),
                version: *v,
                digest: floor.payload_sha256.clone(),
                evidence: None,
            });
        }
        Observation::Signed(Box::new(Signed {
            content: hex::encode(ts.signed_sha256),
            order: Order::Version(ts.version),
            expires,
            published: None,
            signers,
            artifacts,
            evidence: None,
            documents,
            proof: Proof::Verified,
            detail: TufDetail {
                root: (
                    root.version,
                    hex::encode(root.signed_sha256),
                    root.expires.clone(),
                ),
                snapshot,
                expired,
                unlisted,
                unchecked,
                judged_under,
                snapshot_against_state,
            },
        }))
    }

    /// The newest root's keys for the timestamp, for the report's key count.
    fn timestamp_keys(&self) -> usize {
        let newest = self.shared().newest.as_ref().map(|(_, r)| r.clone());
        let bytes = newest.unwrap_or_else(|| self.pinned.clone());
        Unverified::parse(ROOT, &bytes)
            .and_then(|u| u.typed::<metadata::Root>())
            .ok()
            .and_then(|r| r.role(TIMESTAMP).map(|k| k.keyids.len()))
            .unwrap_or(0)
    }

    /// Records the snapshot of the latest mirror when the pipeline records its timestamp.
    fn record_snapshot(
        &self,
        observations: &[Observation<TufDetail>],
        audit: &Audit,
        report: &mut Report,
    ) -> bool {
        let (Some(store), Some(latest)) = (&self.store, &audit.latest) else {
            return false;
        };
        if audit.hold.is_some() || audit.latest_is_equivocated() {
            return false;
        }
        let Some((version, digest)) = observations[latest.example]
            .signed()
            .and_then(|s| s.detail.snapshot.clone())
        else {
            return false;
        };
        let state = ChannelState {
            version,
            payload_sha256: digest,
            updated: time::format(&self.now),
        };
        match store.advance(&self.key, &snapshot_channel(&self.channel), &state) {
            Ok(Advance::Written) => true,
            Ok(Advance::NotNewer) => false,
            Ok(Advance::Conflict(recorded)) => {
                report.notices.push(format!(
                    "snapshot {version} was recorded here earlier with other signed contents ({}); the state keeps it",
                    recorded.payload_sha256
                ));
                false
            }
            Err(e) => {
                report
                    .notices
                    .push(format!("snapshot version not recorded: {e}"));
                false
            }
        }
    }
}

/// Whether the walk verified a timestamp and everything after it that it tried.
fn verified_timestamp(v: &MirrorView) -> bool {
    matches!(v.outcome, Outcome::Ok | Outcome::Expired { .. }) && v.latest(TIMESTAMP).is_some()
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Ok => "ok".into(),
        Outcome::Unreachable(w) | Outcome::Invalid(w) | Outcome::Rollback(w) => w.clone(),
        Outcome::Expired { role, expires } => format!("{role} expired at {expires}"),
    }
}

/// A named target as an artifact of the pipeline: its path below the targets URL
/// (`DIR/HASH.NAME` with consistent snapshots, the first listed hash, as python-tuf
/// asks), its signed length, and every listed SHA-256 and SHA-512. `None` when it lists
/// another algorithm (sha224, sha384, blake2b): the artifacts stage does not compute
/// those, and a target judged by some of its hashes only would let a mirror pick.
fn artifact(
    name: &str,
    info: &metadata::TargetFile,
    hash_prefix: bool,
) -> Option<(String, Artifact)> {
    let mut digests = Vec::new();
    for (alg, hex_digest) in &info.hashes.0 {
        let bytes = hex::decode(hex_digest).ok();
        digests.push(match (alg.as_str(), bytes) {
            ("sha256", Some(b)) => Expected::Sha256(b.try_into().ok()?),
            ("sha512", Some(b)) => Expected::Sha512(b.try_into().ok()?),
            _ => return None,
        });
    }
    if digests.is_empty() {
        return None;
    }
    let rel = match info.hashes.0.first().filter(|_| hash_prefix) {
        Some((_, h)) => match name.rsplit_once('/') {
            Some((dir, file)) => format!("{dir}/{h}.{file}"),
            None => format!("{h}.{name}"),
        },
        None => name.to_owned(),
    };
    Some((
        rel,
        Artifact {
            name: name.to_owned(),
            length: info.length,
            length_signed: true,
            digests,
        },
    ))
}

impl Scheme for Tuf {
    type Mirror = TufMirror;
    type Detail = TufDetail;
    type Latest = TufLatest;

    fn state_key(&self) -> String {
        self.key.clone()
    }

    fn visit<'a>(&'a self, visit: &'a Visit) -> BoxFuture<'a, TufMirror> {
        Box::pin(async move {
            TufMirror {
                first: self.walk(visit, &self.pinned, false).await,
                again: None,
            }
        })
    }

    fn settle(&self, mirrors: &mut [Option<TufMirror>]) -> Result<Vec<usize>, CheckError> {
        let mut shared = self.shared();
        shared.rounds += 1;
        if shared.rounds > 1 {
            // After round two: the newest timestamp the newest root's keys signed.
            let newest = shared.newest.as_ref().map_or(0, |(v, _)| *v);
            shared.newest_timestamp = mirrors
                .iter()
                .flatten()
                .filter_map(|m| match &m.again {
                    Some(again) => Some(again),
                    None => (m_root(&m.first) >= newest).then_some(&m.first),
                })
                .filter(|v| verified_timestamp(v))
                .filter_map(|v| v.latest(TIMESTAMP).map(|d| d.version))
                .max()
                .unwrap_or(0);
            return Ok(Vec::new());
        }
        // The newest root any mirror proved, if only one document of that version exists.
        let mut newest: Option<(u64, [u8; 32])> = None;
        let mut split = false;
        for m in mirrors.iter().flatten() {
            let Some(r) = m.first.latest(ROOT) else {
                continue;
            };
            match &newest {
                Some((v, d)) if r.version == *v => split |= *d != r.signed_sha256,
                Some((v, _)) if r.version < *v => {}
                _ => {
                    split = false;
                    newest = Some((r.version, r.signed_sha256));
                }
            }
        }
        let Some((version, digest)) = newest.filter(|_| !split) else {
            return Ok(Vec::new());
        };
        let bytes = match &shared.candidate {
            Some((v, d, bytes)) if *v == version && *d == digest => bytes.clone(),
            _ => return Ok(Vec::new()),
        };
        let behind: Vec<usize> = mirrors
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let m = m.as_ref()?;
                let own = m_root(&m.first);
                let answered = !matches!(m.first.outcome, Outcome::Unreachable(_))
                    || m.first.documents.len() > 1;
                (own < version && answered).then_some(i)
            })
            .collect();
        if behind.is_empty() {
            return Ok(Vec::new());
        }
        shared.newest = Some((version, bytes));
        Ok(behind)
    }

    fn revisit<'a>(&'a self, mirror: &'a mut TufMirror, visit: &'a Visit) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let root = self.shared().newest.as_ref().map(|(_, r)| r.clone());
            if let Some(root) = root {
                mirror.again = Some(self.walk(visit, &root, true).await);
            }
        })
    }

    fn observe(&self, mirror: TufMirror) -> Observation<TufDetail> {
        match self.judged(mirror) {
            Ok((view, under)) => self.observation(view, under),
            Err(why) => Observation::Invalid(why),
        }
    }

    fn key_count(&self) -> usize {
        self.timestamp_keys()
    }

    fn describe(
        &self,
        observations: &[Observation<TufDetail>],
        _opts: &CheckOptions,
        report: &mut Report,
    ) {
        report.scheme = Some(SCHEME);
        let details: Vec<Option<&TufDetail>> = observations
            .iter()
            .map(|o| o.signed().map(|s| &s.detail))
            .collect();
        // The newest root any verified mirror reached.
        report.root = details
            .iter()
            .flatten()
            .max_by_key(|d| d.root.0)
            .map(|d| RootReport {
                version: d.root.0,
                payload_sha256: d.root.1.clone(),
                expires: d.root.2.clone(),
            })
            // No mirror verified anything: the run still started from the pinned root.
            .or_else(|| Some(self.pinned_root.clone()));
        for (m, d) in report.mirrors.iter_mut().zip(&details) {
            let Some(d) = d else { continue };
            // The judge speaks of releases; say which TUF document it means.
            match m.status {
                run::Status::Expired => {
                    if let Some((role, version, expires)) = &d.expired {
                        m.error = Some(format!(
                            "{role} {version} expired at {expires} (frozen or neglected mirror)"
                        ));
                    }
                }
                run::Status::Rollback | run::Status::Stale => {
                    if let Some(why) = &m.error {
                        m.error = Some(why.replacen("release ", "timestamp ", 1).replacen(
                            "serves ",
                            "serves timestamp ",
                            1,
                        ));
                    }
                }
                _ => {}
            }
        }
        let against: BTreeSet<u64> = details
            .iter()
            .flatten()
            .filter_map(|d| d.snapshot_against_state)
            .collect();
        for v in against {
            report.notices.push(format!(
                "snapshot {v} was recorded here earlier with other signed contents: its keys signed two snapshots of one version"
            ));
        }
        let mut unlisted = BTreeSet::new();
        let mut unchecked = BTreeSet::new();
        for d in details.iter().flatten() {
            unlisted.extend(d.unlisted.iter().cloned());
            unchecked.extend(d.unchecked.iter().cloned());
        }
        for t in unlisted {
            report.notices.push(format!(
                "target {t} is listed by no trusted role on some mirrors: not checked there"
            ));
        }
        for t in unchecked {
            report.notices.push(format!(
                "target {t} lists a hash algorithm other than sha256 and sha512: its bytes were not checked"
            ));
        }
        if let Some((v, _)) = &self.shared().newest {
            let under = details
                .iter()
                .flatten()
                .filter(|d| d.judged_under.is_some())
                .count();
            if under > 0 {
                report.notices.push(format!(
                    "{under} mirror(s) do not serve root {v}, which other mirrors proved from the pinned root; they were judged under it"
                ));
            }
        }
        // `report.root` names the pinned root when nothing verified: ask the mirrors.
        if self.pinned_version > 0 && details.iter().flatten().next().is_none() {
            report.notices.push(format!(
                "no mirror served metadata that verifies from the pinned root (version {})",
                self.pinned_version
            ));
        }
    }

    fn conclude(
        &self,
        observations: &[Observation<TufDetail>],
        audit: &Audit,
        report: &mut Report,
    ) -> TufLatest {
        TufLatest {
            pinned: self.pinned.clone(),
            pinned_version: self.pinned_version,
            root_version: report.root.as_ref().map(|r| r.version),
            snapshot_recorded: self.record_snapshot(observations, audit, report),
            verifications: self.verified.verifications(),
        }
    }

    fn artifacts_from(&self, mirror: &Mirror) -> Option<Mirror> {
        Some(Mirror {
            location: self.source.targets_location(mirror),
            ..mirror.clone()
        })
    }
}

/// The documents of `a` (roots aside) that `b` holds under the same role and version
/// with other signed contents. Placed before `b`'s own in a view, so that
/// [`MirrorView::latest`] still finds `b`'s.
fn conflicts(a: &MirrorView, b: &MirrorView) -> Vec<audit::Document> {
    a.documents
        .iter()
        .filter(|d| d.role != ROOT)
        .filter(|d| {
            b.documents.iter().any(|o| {
                o.role == d.role && o.version == d.version && o.signed_sha256 != d.signed_sha256
            })
        })
        .cloned()
        .collect()
}

/// The version of the newest root a walk reached.
fn m_root(v: &MirrorView) -> u64 {
    v.latest(ROOT).map_or(0, |d| d.version)
}

/// The TUF client's [`Source`] over one mirror's [`Visit`]: every request goes through
/// the pipeline's fetcher (its deadlines, size limits and per-host turns), and every file
/// served is kept as evidence under the name it was asked for.
struct VisitSource<'a> {
    visit: &'a Visit,
    /// The metadata URL as the client builds on it (with a trailing slash).
    base: String,
    walks: &'a tokio::sync::Semaphore,
    /// Where below the mirror's evidence directory files are kept: `""` or `"again/"`.
    keep_under: &'static str,
    /// This walk's slot among the walks past their timestamp, once it asked for more.
    slot: tokio::sync::Mutex<Option<tokio::sync::SemaphorePermit<'a>>>,
}

impl<'a> VisitSource<'a> {
    /// The source, and the base URL to give the client. A local mirror gets a URL of its
    /// own: only the part after it matters, read below the mirror's directory.
    fn new(
        visit: &'a Visit,
        walks: &'a tokio::sync::Semaphore,
        again: bool,
    ) -> Option<(Url, VisitSource<'a>)> {
        let base = match &visit.mirror().location {
            Location::Http(u) => super::source::dir_url(u),
            Location::Dir(_) => Url::parse("mirror:///").ok()?,
        };
        let source = VisitSource {
            visit,
            base: base.as_str().to_owned(),
            walks,
            keep_under: if again { "again/" } else { "" },
            slot: tokio::sync::Mutex::new(None),
        };
        Some((base, source))
    }
}

/// A name that goes below the mirror as it is: what TUF's quoting leaves alone.
fn plain(rel: &str) -> bool {
    !rel.is_empty()
        && rel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && rel != "."
        && rel != ".."
}

impl Source for VisitSource<'_> {
    async fn get(&self, url: &Url, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
        let rel = url
            .as_str()
            .strip_prefix(&self.base)
            .filter(|r| !r.contains('/'))
            .ok_or_else(|| SourceError::Local("a file outside the mirror's metadata URL".into()))?;
        // Snapshot and targets roles may be megabytes, held until the walk ends: the walk
        // takes its slot before the first of them (see `walk_slots`).
        let small = rel == "timestamp.json" || rel.ends_with(".root.json");
        if !small {
            let mut slot = self.slot.lock().await;
            if slot.is_none() {
                *slot = Some(
                    self.walks
                        .acquire()
                        .await
                        .map_err(|_| SourceError::Local("the run is over".into()))?,
                );
            }
        }
        // Replace, not add: a file asked for twice in one round never fails the bundle.
        // Round two keeps its files under `again/`: a mirror may answer the second time
        // otherwise than the first, and both answers are evidence.
        let got = match &self.visit.mirror().location {
            Location::Http(_) if !plain(rel) => {
                let keep_as = format!("{}{rel}", self.keep_under);
                self.visit
                    .get_url(url.clone(), max_bytes, Some(&keep_as))
                    .await
            }
            _ if self.keep_under.is_empty() => {
                self.visit.get_limited(rel, Keep::Replace, max_bytes).await
            }
            _ => {
                let got = self.visit.get_limited(rel, Keep::No, max_bytes).await;
                if let Ok(body) = &got {
                    self.visit
                        .keep(&format!("{}{rel}", self.keep_under), body)
                        .await;
                }
                got
            }
        };
        match got {
            Ok(body) if body.len() as u64 > max_bytes => Err(SourceError::TooLarge(max_bytes)),
            Ok(body) => Ok(body.to_vec()),
            Err(e) => Err(super::source::from_fetch(e)),
        }
    }
}

/// What an evidence bundle of a TUF run holds of the pinned trust: the pinned root, and
/// a profile that walks each mirror's kept files from it again (`--artifacts none`: the
/// targets themselves are not kept).
pub fn evidence_trust(profile: &Profile, report: &Report, latest: &TufLatest) -> Trust {
    let (pinned, version) = (latest.pinned.as_ref().clone(), latest.pinned_version);
    let name = format!("pinned-root-{version}.json");
    let mut lines = vec![
        format!("scheme = {}", crate::text::toml_string(SCHEME)),
        format!("root = {}", crate::text::toml_string(&name)),
        format!("channel = {}", crate::text::toml_string(&report.channel)),
    ];
    if let Some(t) = &profile.tuf
        && !t.targets.is_empty()
    {
        let list: Vec<String> = t
            .targets
            .iter()
            .map(|s| crate::text::toml_string(s))
            .collect();
        lines.push(format!("targets = [{}]", list.join(", ")));
    }
    Trust {
        files: vec![(name, pinned)],
        lines,
        per_mirror: Vec::new(),
    }
}

impl From<TufError> for CheckError {
    fn from(e: TufError) -> CheckError {
        CheckError::Setup(e.to_string())
    }
}
