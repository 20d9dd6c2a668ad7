//! The native format as a [`Scheme`]: each mirror's signed release document
//! (`CHANNEL/release.json`), judged under the pinned root as it arrives, and the root
//! chain (`root/N.json`) walked over every mirror that answered, one version per round.
//!
//! Every mirror is judged against the same final root. After a rotation the release keys
//! may differ from the pinned root's, so every document that parsed as an envelope is
//! fetched again and judged under the final root (rare, and it keeps junk out of memory in
//! every run: no document is kept, only its judgement). Two valid roots of one version
//! mean the root keys signed two histories: the walk stops there, the report says so, and
//! no release is judged valid in that run (so the state cannot move).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::envelope::{Envelope, RELEASE_TYPE};
use crate::fetch::FetchError;
use crate::keys::{KeyId, PublicKey};
use crate::release::Release;
use crate::report::{EquivocationCopy, EquivocationReport, RejectedRoot, Report, RootReport};
use crate::root::{RootError, TrustedRoot};
use crate::run::{
    Audit, CheckError, CheckOptions, Keep, Observation, Order, Proof, Scheme, Signed, Visit,
    is_dead,
};
use crate::time::{self, Timestamp};

/// How far a root chain may be walked in one run; far beyond any real project's history.
const MAX_ROOT_STEPS: u64 = 1024;

/// A release whose signatures met the threshold and whose payload parsed and matched the
/// project and channel (it may still be expired).
#[derive(Debug, Clone)]
pub struct SignedRelease {
    pub release: Release,
    pub payload_sha256: String,
    pub signers: Vec<KeyId>,
}

/// What one release document says under one root.
#[derive(Debug, Clone)]
pub enum ReleaseObservation {
    Unreachable(String),
    Invalid(String),
    Signed(SignedRelease),
}

/// Verifies one fetched release: envelope and signatures first, then the payload.
pub fn observe_release(
    bytes: &[u8],
    keys: &[&PublicKey],
    threshold: usize,
    project: &str,
    channel: &str,
    limit: u64,
) -> ReleaseObservation {
    let envelope = match Envelope::parse(bytes, limit) {
        Ok(e) => e,
        Err(e) => return ReleaseObservation::Invalid(e.to_string()),
    };
    let verified = match envelope.verify(RELEASE_TYPE, keys, threshold) {
        Ok(v) => v,
        Err(e) => return ReleaseObservation::Invalid(e.to_string()),
    };
    match Release::parse(&verified.payload, project, channel) {
        Ok(release) => ReleaseObservation::Signed(SignedRelease {
            release,
            payload_sha256: hex::encode(Sha256::digest(&verified.payload)),
            signers: verified.signers,
        }),
        Err(e) => ReleaseObservation::Invalid(e.to_string()),
    }
}

/// Loads and checks the root the user pinned.
pub fn load_pinned_root(path: &Path, limit: u64) -> Result<TrustedRoot, CheckError> {
    let shown = path.display().to_string();
    let bytes = crate::fsutil::read_limited(path, limit).map_err(|e| CheckError::PinnedRoot {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    TrustedRoot::from_pinned(&bytes, limit).map_err(|e| CheckError::PinnedRoot {
        path: shown,
        reason: e.to_string(),
    })
}

/// The native scheme for one run: the pinned root, and the chain walked from it.
pub struct Native {
    pinned: Arc<TrustedRoot>,
    channel: String,
    limit: u64,
    now: Timestamp,
    walk: Mutex<Walk>,
}

/// The root chain as far as it was walked.
struct Walk {
    current: Arc<TrustedRoot>,
    /// Rotations accepted in this run, in order.
    accepted: Vec<TrustedRoot>,
    equivocations: Vec<EquivocationReport>,
    rejected: Vec<RejectedRoot>,
    steps: u64,
    phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Each round fetches the root after `current` from every responsive mirror.
    Roots,
    /// The chain rotated: documents that parsed as envelopes are judged again under it.
    Again,
    Done,
}

/// What the run learned of one mirror.
pub struct NativeMirror {
    url: String,
    release: Result<Arrived, FetchError>,
    /// The next root as this mirror serves it, already judged; taken by each settle.
    candidate: Option<Candidate>,
    /// Answered round one (even with an error status): asked for later roots. Dead
    /// mirrors cost one timeout per run, not one per root step.
    responsive: bool,
    /// The release judged again under the rotated root.
    again: Option<ReleaseObservation>,
}

/// A release document, judged as soon as it arrived.
struct Arrived {
    observation: ReleaseObservation,
    /// It parsed as an envelope, so a rotated root (other release keys) could judge it
    /// differently. Whatever did not parse is judged for good: junk is never kept.
    envelope: bool,
}

/// A root candidate from one mirror: the next trusted root, or why it was refused.
type Candidate = Result<Result<TrustedRoot, String>, FetchError>;

/// What the caller gets of a native run: the latest release, and the trust behind it for
/// the evidence bundle.
#[derive(Debug)]
pub struct NativeLatest {
    pub release: Option<Release>,
    pub pinned: Envelope,
    pub pinned_version: u64,
    pub rotations: Vec<(u64, Envelope)>,
}

fn release_path(channel: &str) -> String {
    format!("{channel}/release.json")
}

fn root_path(version: u64) -> String {
    format!("root/{version}.json")
}

fn root_reason(e: &RootError) -> String {
    crate::envelope::one_line(e)
}

/// What a failed fetch says of a mirror: a local mirror's link or FIFO answered, wrongly
/// (nothing of it was read), so it is `invalid`; anything else is `unreachable`.
fn failed_fetch(rel: &str, e: &FetchError) -> ReleaseObservation {
    match e {
        FetchError::Refused(_) => ReleaseObservation::Invalid(format!("{rel}: {e}")),
        _ => ReleaseObservation::Unreachable(format!("{rel}: {e}")),
    }
}

impl Native {
    pub fn new(pinned: TrustedRoot, opts: &CheckOptions) -> Native {
        let pinned = Arc::new(pinned);
        Native {
            walk: Mutex::new(Walk {
                current: pinned.clone(),
                accepted: Vec::new(),
                equivocations: Vec::new(),
                rejected: Vec::new(),
                steps: 0,
                phase: Phase::Roots,
            }),
            pinned,
            channel: opts.channel.clone(),
            limit: opts.fetch.max_metadata_bytes,
            now: opts.now,
        }
    }

    fn arrived(&self, bytes: &[u8], root: &TrustedRoot) -> Arrived {
        let keys = root.root.role_keys(&root.root.release_role);
        Arrived {
            observation: observe_release(
                bytes,
                &keys,
                root.root.release_role.threshold,
                &root.root.project,
                &self.channel,
                self.limit,
            ),
            envelope: Envelope::parse(bytes, self.limit).is_ok(),
        }
    }

    fn walk(&self) -> std::sync::MutexGuard<'_, Walk> {
        // A poisoned lock only means another task panicked; the walk itself is whole.
        self.walk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One step of the walk: judges the candidates for the root after `current`. Returns
    /// the mirrors to ask for the next one, or `None` when the walk is over.
    fn step(&self, w: &mut Walk, mirrors: &mut [Option<NativeMirror>]) -> Option<Vec<usize>> {
        let version = w.current.root.version.checked_add(1)?;
        w.steps += 1;
        let mut valid: BTreeMap<String, (TrustedRoot, Vec<usize>)> = BTreeMap::new();
        let mut dead = Vec::new();
        let mut rejected = Vec::new();
        for (i, m) in mirrors.iter_mut().enumerate() {
            let Some(candidate) = m.as_mut().and_then(|m| m.candidate.take()) else {
                continue;
            };
            match candidate {
                // A mirror that stalls on a root is not asked at later steps.
                Err(e) if is_dead(&e) => dead.push(i),
                Err(_) => {}
                Ok(Ok(next)) => {
                    valid
                        .entry(next.payload_sha256.clone())
                        .or_insert_with(|| (next, Vec::new()))
                        .1
                        .push(i);
                }
                Ok(Err(error)) => rejected.push((i, error)),
            }
        }
        for (i, error) in rejected {
            w.rejected.push(RejectedRoot {
                version,
                mirror: mirrors_url(mirrors, i),
                error,
            });
        }
        if valid.len() > 1 {
            w.equivocations.push(EquivocationReport {
                kind: None,
                version,
                payload_sha256: valid.keys().cloned().collect(),
                mirrors: valid
                    .values()
                    .flat_map(|(_, ms)| ms.iter().map(|i| mirrors_url(mirrors, *i)))
                    .collect(),
                with_state: false,
                evidence: Vec::new(),
                copies: valid
                    .iter()
                    .map(|(digest, (_, ms))| EquivocationCopy {
                        digest: digest.clone(),
                        mirrors: ms.iter().map(|i| mirrors_url(mirrors, *i)).collect(),
                        state: false,
                        vantages: Vec::new(),
                    })
                    .collect(),
                vantages: Vec::new(),
            });
            return None;
        }
        for i in dead {
            if let Some(m) = mirrors[i].as_mut() {
                m.responsive = false;
            }
        }
        let (_, (next, _)) = valid.into_iter().next()?;
        w.accepted.push(next.clone());
        w.current = Arc::new(next);
        w.current.root.version.checked_add(1)?;
        if w.steps >= MAX_ROOT_STEPS {
            return None;
        }
        Some(
            mirrors
                .iter()
                .enumerate()
                .filter(|(_, m)| m.as_ref().is_some_and(|m| m.responsive))
                .map(|(i, _)| i)
                .collect(),
        )
    }

    fn root_split(&self) -> Option<u64> {
        self.walk().equivocations.first().map(|e| e.version)
    }
}

/// The URL of a mirror, for reports; the walk keeps it in each mirror's state.
fn mirrors_url(mirrors: &[Option<NativeMirror>], i: usize) -> String {
    mirrors
        .get(i)
        .and_then(|m| m.as_ref())
        .map(|m| m.url.clone())
        .unwrap_or_default()
}

impl Scheme for Native {
    type Mirror = NativeMirror;
    type Detail = Release;
    type Latest = NativeLatest;

    fn state_key(&self) -> String {
        self.pinned.root.project.clone()
    }

    fn visit<'a>(&'a self, visit: &'a Visit) -> BoxFuture<'a, NativeMirror> {
        Box::pin(async move {
            let rel = release_path(&self.channel);
            let release = match visit.get(&rel, Keep::Add).await {
                Ok(bytes) => Ok(self.arrived(&bytes, &self.pinned)),
                Err(e) => Err(e),
            };
            // A dead mirror holds one request slot for one timeout, and is not asked again.
            let dead = matches!(&release, Err(e) if is_dead(e));
            let candidate = match &release {
                Err(e) if dead => Err(e.clone()),
                _ => self.next_root(visit, &self.pinned).await,
            };
            NativeMirror {
                url: visit.mirror().url.clone(),
                release,
                candidate: Some(candidate),
                responsive: !dead,
                again: None,
            }
        })
    }

    fn settle(&self, mirrors: &mut [Option<NativeMirror>]) -> Result<Vec<usize>, CheckError> {
        let mut w = self.walk();
        match w.phase {
            Phase::Roots => {
                if let Some(ask) = self.step(&mut w, mirrors) {
                    return Ok(ask);
                }
                let root = &w.current.root;
                if root.is_expired(self.now) {
                    return Err(CheckError::RootExpired {
                        version: root.version,
                        expires: time::format(&root.expires),
                    });
                }
                if w.accepted.is_empty() || !w.equivocations.is_empty() {
                    w.phase = Phase::Done;
                    return Ok(Vec::new());
                }
                w.phase = Phase::Again;
                Ok(mirrors
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| {
                        m.as_ref()
                            .is_some_and(|m| matches!(&m.release, Ok(a) if a.envelope))
                    })
                    .map(|(i, _)| i)
                    .collect())
            }
            Phase::Again | Phase::Done => {
                w.phase = Phase::Done;
                Ok(Vec::new())
            }
        }
    }

    fn revisit<'a>(&'a self, mirror: &'a mut NativeMirror, visit: &'a Visit) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let (phase, current) = {
                let w = self.walk();
                (w.phase, w.current.clone())
            };
            match phase {
                Phase::Roots => mirror.candidate = Some(self.next_root(visit, &current).await),
                Phase::Again => {
                    let rel = release_path(&self.channel);
                    mirror.again = Some(match visit.get(&rel, Keep::Replace).await {
                        Ok(bytes) => self.arrived(&bytes, &current).observation,
                        Err(e) => failed_fetch(&rel, &e),
                    });
                }
                Phase::Done => {}
            }
        })
    }

    fn observe(&self, mirror: NativeMirror) -> Observation<Release> {
        let rel = release_path(&self.channel);
        let split = self.root_split();
        let seen = match (mirror.release, split) {
            (Err(e), _) => failed_fetch(&rel, &e),
            (Ok(_), Some(v)) => ReleaseObservation::Invalid(format!(
                "cannot be judged: root version {v} is equivocated"
            )),
            (Ok(a), None) => mirror.again.unwrap_or(a.observation),
        };
        match seen {
            ReleaseObservation::Unreachable(why) => Observation::Unreachable(why),
            ReleaseObservation::Invalid(why) => Observation::Invalid(why),
            ReleaseObservation::Signed(s) => Observation::Signed(Box::new(Signed {
                content: s.payload_sha256,
                order: Order::Version(s.release.version),
                expires: Some(s.release.expires),
                published: Some(s.release.published),
                signers: s.signers.iter().map(|k| k.to_string()).collect(),
                artifacts: s
                    .release
                    .artifacts
                    .iter()
                    .map(|a| (format!("artifacts/{}", a.name), a.clone()))
                    .collect(),
                evidence: None,
                documents: Vec::new(),
                proof: Proof::Verified,
                detail: s.release,
            })),
        }
    }

    fn key_count(&self) -> usize {
        self.walk().current.root.release_role.keyids.len()
    }

    fn describe(&self, _: &[Observation<Release>], _: &CheckOptions, report: &mut Report) {
        let w = self.walk();
        report.root = Some(RootReport {
            version: w.current.root.version,
            payload_sha256: w.current.payload_sha256.clone(),
            expires: time::format(&w.current.root.expires),
        });
        report.root_equivocations = w.equivocations.clone();
        report.root_rejected = w.rejected.clone();
    }

    fn conclude(
        &self,
        observations: &[Observation<Release>],
        audit: &Audit,
        _: &mut Report,
    ) -> NativeLatest {
        let w = self.walk();
        NativeLatest {
            release: audit
                .latest
                .as_ref()
                .and_then(|l| observations[l.example].signed())
                .map(|s| s.detail.clone()),
            pinned: self.pinned.envelope.clone(),
            pinned_version: self.pinned.root.version,
            rotations: w
                .accepted
                .iter()
                .map(|r| (r.root.version, r.envelope.clone()))
                .collect(),
        }
    }
}

impl Native {
    /// The root after `from`, as one mirror serves it, judged as it arrives.
    async fn next_root(&self, visit: &Visit, from: &TrustedRoot) -> Candidate {
        let Some(version) = from.root.version.checked_add(1) else {
            return Err(FetchError::NotFound(None));
        };
        visit
            .get(&root_path(version), Keep::No)
            .await
            .map(|b| from.rotate(&b, self.limit).map_err(|e| root_reason(&e)))
    }
}
