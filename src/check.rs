//! One run of `check`: fetch from every mirror at once, walk the root chain, judge every
//! mirror against the same final root, check artifacts of the mirrors that serve the latest
//! release, update the local state, and build the report.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::audit::{self, Judgement, Observation, SignedRelease, Status};
use crate::envelope::{Envelope, RELEASE_TYPE};
use crate::evidence::{EvidenceDir, mirror_dir};
use crate::fetch::{ArtifactMode, ArtifactOutcome, FetchConfig, FetchError, Fetcher};
use crate::profile::Mirror;
use crate::release::Release;
use crate::report::{
    ArtifactReport, EquivocationReport, LatestReport, MirrorReport, RejectedRoot, Report,
    RootReport, SCHEMA,
};
use crate::root::{RootError, TrustedRoot};
use crate::state::{Advance, ChannelState, StateError, StateStore};
use crate::time::{self, Timestamp};

/// How far a root chain may be walked in one run; far beyond any real project's history.
const MAX_ROOT_STEPS: u64 = 1024;
/// Artifact requests one mirror may have in flight at once.
const PER_MIRROR_ARTIFACTS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("pinned root {path}: {reason}")]
    PinnedRoot { path: String, reason: String },
    /// The pinned key of a signed-file profile (signify, minisign, sshsig, note): a key,
    /// not a root, so the message must not send the user looking for a root envelope.
    #[error("pinned key {path}: {reason}")]
    PinnedKey { path: String, reason: String },
    #[error(
        "trusted root version {version} expired at {expires}; get a current root from the project through a channel you trust"
    )]
    RootExpired { version: u64, expires: String },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("no mirrors to check")]
    NoMirrors,
    #[error("scheme {0:?} is not supported (supported: native)")]
    Scheme(String),
    #[error("{0}")]
    Setup(String),
}

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub channel: String,
    pub artifacts: ArtifactMode,
    pub fetch: FetchConfig,
    pub state: Option<StateStore>,
    pub now: Timestamp,
}

/// What a run produced: the report, and the latest release for callers that go on to use
/// it (such as `verify`).
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub latest: Option<Release>,
    /// Set when the run recorded a new version in the local state.
    pub state_written: bool,
    /// Set when the run should have recorded a new version but could not write the state:
    /// the report is whole all the same, and the caller says so after showing it.
    pub state_error: Option<StateError>,
    /// The bytes behind the verdicts, for auditors who keep them.
    pub evidence: Evidence,
}

/// Exactly what the run judged: the pinned root, the rotations it accepted, and whether
/// each mirror served a release document. The documents themselves went to the evidence
/// directory as they arrived (see [`run_with_evidence`]); none is kept in memory.
#[derive(Debug)]
pub struct Evidence {
    pub pinned: Envelope,
    pub pinned_version: u64,
    pub rotations: Vec<(u64, Envelope)>,
    pub served: Vec<(Mirror, bool)>,
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

/// What round one learned from one mirror. No document is kept: each is judged as it
/// arrives and only the judgement stays, so memory follows the requests in flight, not
/// the number of mirrors (600 mirrors serving 1 MiB of junk each used to hold 600 MiB).
struct FirstRound {
    release: Result<Arrived, FetchError>,
    /// Root version N+1 as this mirror serves it, already judged against the pinned root.
    next_root: Candidate,
    elapsed_ms: u64,
}

/// A release document, judged under the pinned root as soon as it arrived.
struct Arrived {
    observation: Observation,
    /// It parsed as an envelope, so a rotated root (other release keys) could judge it
    /// differently; after a rotation such documents are fetched again and judged under the
    /// final root. Whatever did not parse is judged for good: junk is never kept.
    envelope: bool,
}

/// A root candidate from one mirror: the next trusted root, or why it was refused.
type Candidate = Result<Result<TrustedRoot, String>, FetchError>;

fn release_path(channel: &str) -> String {
    format!("{channel}/release.json")
}

fn root_path(version: u64) -> String {
    format!("root/{version}.json")
}

/// Runs a whole check; blocking wrapper around the async pipeline.
pub fn run(
    scheme: &str,
    profile_name: &str,
    pinned: TrustedRoot,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
) -> Result<Outcome, CheckError> {
    run_with_evidence(scheme, profile_name, pinned, mirrors, opts, None)
}

/// [`run`], writing each mirror's release document into `evidence` as it arrives; the
/// caller completes the bundle with [`EvidenceDir::finish_native`].
pub fn run_with_evidence(
    scheme: &str,
    profile_name: &str,
    pinned: TrustedRoot,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
) -> Result<Outcome, CheckError> {
    if scheme != "native" {
        return Err(CheckError::Scheme(scheme.to_owned()));
    }
    preflight(&mirrors, &opts)?;
    block_on(run_async(profile_name, pinned, mirrors, opts, evidence))
}

/// What every run refuses before it starts: no mirrors, or an unusable channel name.
pub(crate) fn preflight(mirrors: &[Mirror], opts: &CheckOptions) -> Result<(), CheckError> {
    if mirrors.is_empty() {
        return Err(CheckError::NoMirrors);
    }
    crate::release::check_channel_name(&opts.channel).map_err(|e| CheckError::Setup(e.to_string()))
}

/// Runs a whole check on its own runtime.
pub(crate) fn block_on<T>(
    run: impl std::future::Future<Output = Result<T, CheckError>>,
) -> Result<T, CheckError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CheckError::Setup(format!("cannot start the async runtime: {e}")))?;
    let out = rt.block_on(run);
    // A read stuck in the kernel (a hung network filesystem, a FIFO) must not keep the
    // process alive after its deadline passed: do not wait for blocking threads.
    rt.shutdown_background();
    out
}

async fn run_async(
    profile_name: &str,
    pinned: TrustedRoot,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
) -> Result<Outcome, CheckError> {
    let project = pinned.root.project.clone();
    let state = match &opts.state {
        Some(store) => store.load(&project, &opts.channel)?,
        None => None,
    };
    let fetcher = Arc::new(
        Fetcher::new(opts.fetch.clone(), &mirrors).map_err(|e| CheckError::Setup(e.to_string()))?,
    );
    let mirrors: Vec<Arc<Mirror>> = mirrors.into_iter().map(Arc::new).collect();
    let judge = Arc::new(Judge {
        project: project.clone(),
        channel: opts.channel.clone(),
        limit: opts.fetch.max_metadata_bytes,
    });

    // Round one: each mirror's release, then (if the mirror answered at all) the next root
    // version. A dead mirror holds one request slot for one timeout, and is not asked again.
    let first_root = pinned.root.version.saturating_add(1);
    let rel = release_path(&opts.channel);
    let pinned = Arc::new(pinned);
    let tasks: Vec<_> = mirrors
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (f, m, rel) = (fetcher.clone(), m.clone(), rel.clone());
            let (root, judge, ev) = (pinned.clone(), judge.clone(), evidence.clone());
            tokio::spawn(async move {
                let start = Instant::now();
                let release = f.get_metadata(&m, &rel).await;
                let elapsed_ms = start.elapsed().as_millis() as u64;
                let release = match release {
                    Ok(bytes) => {
                        let arrived = judge.arrived(&bytes, &root);
                        if let Some(ev) = &ev {
                            ev.keep(&format!("{}/{rel}", mirror_dir(i)), &bytes).await;
                        }
                        Ok(arrived)
                    }
                    Err(e) => Err(e),
                };
                let next_root = match &release {
                    Err(e) if is_dead(e) => Err(e.clone()),
                    _ => f
                        .get_metadata(&m, &root_path(first_root))
                        .await
                        .map(|b| root.rotate(&b, judge.limit).map_err(|e| root_reason(&e))),
                };
                FirstRound {
                    release,
                    next_root,
                    elapsed_ms,
                }
            })
        })
        .collect();
    let mut rounds = Vec::with_capacity(tasks.len());
    for t in tasks {
        rounds.push(t.await.unwrap_or_else(|e| FirstRound {
            release: Err(FetchError::Io(format!("task failed: {e}"))),
            next_root: Err(FetchError::Io("task failed".into())),
            elapsed_ms: 0,
        }));
    }

    let pinned_envelope = pinned.envelope.clone();
    let pinned_version = pinned.root.version;
    let chain = walk_roots(&fetcher, &mirrors, (*pinned).clone(), &mut rounds).await;
    let root = chain.root;
    if root.root.is_expired(opts.now) {
        return Err(CheckError::RootExpired {
            version: root.root.version,
            expires: time::format(&root.root.expires),
        });
    }

    // Two valid roots for one version: the root keys signed two histories, and which
    // release keys are current cannot be decided. No release is judged valid in this run
    // (and so the state cannot move).
    let root_split = chain.equivocations.first().map(|e| e.version);
    // After a rotation the release keys may differ from the pinned root's: every document
    // that parsed as an envelope is fetched again and judged under the final root (rare,
    // and it keeps junk out of memory in every run).
    let rotated = !chain.accepted.is_empty() && root_split.is_none();
    let mut again = BTreeMap::new();
    if rotated {
        let root = Arc::new(root.clone());
        let tasks: Vec<_> = rounds
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(&r.release, Ok(a) if a.envelope))
            .map(|(i, _)| {
                let (f, m, rel) = (fetcher.clone(), mirrors[i].clone(), rel.clone());
                let (root, judge, ev) = (root.clone(), judge.clone(), evidence.clone());
                let task = tokio::spawn(async move {
                    let got = f.get_metadata(&m, &rel).await;
                    if let Some(ev) = &ev {
                        ev.replace(
                            &format!("{}/{rel}", mirror_dir(i)),
                            got.as_ref().ok().map(|b| &b[..]),
                        )
                        .await;
                    }
                    match got {
                        Ok(bytes) => judge.arrived(&bytes, &root).observation,
                        Err(e) => failed_fetch(&rel, &e),
                    }
                });
                (i, task)
            })
            .collect();
        for (i, t) in tasks {
            let o = t
                .await
                .unwrap_or_else(|e| Observation::Unreachable(format!("task failed: {e}")));
            again.insert(i, o);
        }
    }
    let observations: Vec<Observation> = rounds
        .iter()
        .enumerate()
        .map(|(i, r)| match &r.release {
            Err(e) => failed_fetch(&rel, e),
            Ok(_) if root_split.is_some() => Observation::Invalid(format!(
                "cannot be judged: root version {} is equivocated",
                root_split.unwrap_or_default()
            )),
            Ok(a) => again.remove(&i).unwrap_or_else(|| a.observation.clone()),
        })
        .collect();
    let audit = audit::judge(&observations, state.as_ref(), opts.now);
    let latest_release = audit
        .latest
        .as_ref()
        .and_then(|l| match &observations[l.example] {
            Observation::Signed(s) => Some(s.clone()),
            _ => None,
        });

    // Artifacts, for every mirror that serves the latest release: one task per artifact
    // per mirror, so hashing spreads over all cores while the semaphore bounds the I/O.
    // Each mirror also gets its own small cap, so a slow mirror can hold only a few of the
    // shared slots, and after its first timeout it is not asked for more: a stalling
    // mirror costs about one artifact timeout, never one per artifact.
    let mut artifact_results = BTreeMap::new();
    if let Some(latest) = &latest_release {
        let jobs = audit
            .judgements
            .iter()
            .enumerate()
            .filter(|(_, j)| **j == Judgement::Latest)
            .map(|(i, _)| {
                let list = latest
                    .release
                    .artifacts
                    .iter()
                    .map(|a| (format!("artifacts/{}", a.name), a.clone()))
                    .collect();
                (i, list)
            })
            .collect();
        artifact_results = check_artifacts(&fetcher, &mirrors, jobs, opts.artifacts).await;
    }

    let mut reports = Vec::with_capacity(mirrors.len());
    for (i, m) in mirrors.iter().enumerate() {
        let signed = match &observations[i] {
            Observation::Signed(s) => Some(s),
            _ => None,
        };
        let (status, error, artifacts, extra_ms) = match &audit.judgements[i] {
            Judgement::Final(st, why) => (*st, Some(why.clone()), Vec::new(), 0),
            Judgement::Latest => {
                let (results, ms) = artifact_results.remove(&i).unwrap_or_default();
                let (st, why) = artifact_status(&results);
                let arts = results
                    .into_iter()
                    .map(|(name, o)| artifact_report(name, o))
                    .collect();
                (st, why, arts, ms)
            }
        };
        reports.push(MirrorReport {
            url: m.url.clone(),
            country: m.country.clone(),
            name: m.name.clone(),
            status,
            version: signed.map(|s| s.release.version),
            payload_sha256: signed.map(|s| s.payload_sha256.clone()),
            signers: signed
                .map(|s| s.signers.iter().map(|k| k.to_string()).collect())
                .unwrap_or_default(),
            published: signed.map(|s| time::format(&s.release.published)),
            artifacts,
            elapsed_ms: rounds[i].elapsed_ms + extra_ms,
            error,
        });
    }

    let url_of = |i: &usize| mirrors[*i].url.clone();
    let mut report = Report {
        schema: SCHEMA,
        profile: profile_name.to_owned(),
        channel: opts.channel.clone(),
        checked_at: time::format(&opts.now),
        ok: false,
        independent: false,
        latest: latest_release.as_ref().map(|s| LatestReport {
            version: s.release.version,
            payload_sha256: s.payload_sha256.clone(),
            published: Some(time::format(&s.release.published)),
            signers: s.signers.iter().map(|k| k.to_string()).collect(),
            release_keys: root.root.release_role.keyids.len(),
            equivocated: audit.latest_is_equivocated(),
        }),
        mirrors: reports,
        countries: BTreeMap::new(),
        equivocations: audit
            .equivocations
            .iter()
            .map(|e| EquivocationReport {
                version: e.version,
                payload_sha256: e.payload_sha256.clone(),
                mirrors: e.mirrors.iter().map(url_of).collect(),
                with_state: e.with_state,
                evidence: Vec::new(),
            })
            .collect(),
        scheme: None,
        notices: Vec::new(),
        root: Some(RootReport {
            version: root.root.version,
            payload_sha256: root.payload_sha256.clone(),
            expires: time::format(&root.root.expires),
        }),
        root_equivocations: chain.equivocations,
        root_rejected: chain.rejected,
        artifacts_mode: match opts.artifacts {
            ArtifactMode::None => "none",
            ArtifactMode::Size => "size",
            ArtifactMode::Full => "full",
        },
    };
    report.summarise();

    // The state moves forward only to a valid latest that is not itself equivocated.
    let mut state_written = false;
    let mut state_error = None;
    if let (Some(store), Some(latest)) = (&opts.state, &audit.latest)
        && !audit.latest_is_equivocated()
        && state.as_ref().is_none_or(|s| latest.version > s.version)
    {
        match record_latest(
            store,
            &project,
            &opts.channel,
            latest.version,
            &latest.payload_sha256,
            opts.now,
            &mut report,
        ) {
            Ok(written) => state_written = written,
            Err(e) => state_error = Some(e),
        }
    }

    let evidence = Evidence {
        pinned: pinned_envelope,
        pinned_version,
        rotations: chain
            .accepted
            .into_iter()
            .map(|r| (r.root.version, r.envelope))
            .collect(),
        served: mirrors
            .iter()
            .zip(rounds)
            .map(|(m, r)| ((**m).clone(), r.release.is_ok()))
            .collect(),
    };
    Ok(Outcome {
        report,
        latest: latest_release.map(|s| s.release),
        state_written,
        state_error,
        evidence,
    })
}

/// What a release document is judged against: everything but the root, which may still
/// rotate.
struct Judge {
    project: String,
    channel: String,
    limit: u64,
}

impl Judge {
    fn arrived(&self, bytes: &[u8], root: &TrustedRoot) -> Arrived {
        let envelope = Envelope::parse(bytes, self.limit).is_ok();
        let keys = root.root.role_keys(&root.root.release_role);
        Arrived {
            observation: observe_release(
                bytes,
                &keys,
                root.root.release_role.threshold,
                &self.project,
                &self.channel,
                self.limit,
            ),
            envelope,
        }
    }
}

/// Records a run's latest version in the state. A version that another run recorded
/// meanwhile with other contents is an equivocation, added to the report; a failed write is
/// returned for the caller to report after the report (which stays whole).
pub(crate) fn record_latest(
    store: &StateStore,
    project: &str,
    channel: &str,
    version: u64,
    payload_sha256: &str,
    now: Timestamp,
    report: &mut Report,
) -> Result<bool, StateError> {
    let advance = store.advance(
        project,
        channel,
        &ChannelState {
            version,
            payload_sha256: payload_sha256.to_owned(),
            updated: time::format(&now),
        },
    )?;
    match advance {
        Advance::Written => Ok(true),
        Advance::NotNewer => Ok(false),
        Advance::Conflict(recorded) => {
            report.equivocations.push(EquivocationReport {
                version,
                payload_sha256: vec![recorded.payload_sha256, payload_sha256.to_owned()],
                mirrors: Vec::new(),
                with_state: true,
                evidence: Vec::new(),
            });
            if let Some(l) = report.latest.as_mut() {
                l.equivocated = true;
            }
            report.summarise();
            Ok(false)
        }
    }
}

/// Verifies one fetched release: envelope and signatures first, then the payload.
pub fn observe_release(
    bytes: &[u8],
    keys: &[&crate::keys::PublicKey],
    threshold: usize,
    project: &str,
    channel: &str,
    limit: u64,
) -> Observation {
    let envelope = match Envelope::parse(bytes, limit) {
        Ok(e) => e,
        Err(e) => return Observation::Invalid(e.to_string()),
    };
    let verified = match envelope.verify(RELEASE_TYPE, keys, threshold) {
        Ok(v) => v,
        Err(e) => return Observation::Invalid(e.to_string()),
    };
    match Release::parse(&verified.payload, project, channel) {
        Ok(release) => Observation::Signed(SignedRelease {
            release,
            payload_sha256: hex::encode(Sha256::digest(&verified.payload)),
            signers: verified.signers,
        }),
        Err(e) => Observation::Invalid(e.to_string()),
    }
}

/// Per mirror: each artifact's outcome, and the longest time one took.
pub(crate) type ArtifactResults = BTreeMap<usize, (Vec<(String, ArtifactOutcome)>, u64)>;

/// Checks artifacts for the mirrors that serve the latest release: one task per artifact
/// per mirror, so hashing spreads over all cores while the fetcher's semaphore bounds the
/// I/O. Each mirror also gets its own small cap, so a slow mirror can hold only a few of
/// the shared slots, and after its first timeout it is not asked for more: a stalling
/// mirror costs about one artifact timeout, never one per artifact.
pub(crate) async fn check_artifacts(
    fetcher: &Arc<Fetcher>,
    mirrors: &[Arc<Mirror>],
    jobs: Vec<(usize, Vec<(String, crate::release::Artifact)>)>,
    mode: ArtifactMode,
) -> ArtifactResults {
    let mut handles = Vec::new();
    for (i, list) in jobs {
        let own = Arc::new(Semaphore::new(PER_MIRROR_ARTIFACTS));
        let stalled = Arc::new(AtomicBool::new(false));
        for (rel, a) in list {
            let (f, m) = (fetcher.clone(), mirrors[i].clone());
            let (own, stalled) = (own.clone(), stalled.clone());
            handles.push((
                i,
                a.name.clone(),
                tokio::spawn(async move {
                    let _slot = own.acquire().await;
                    if stalled.load(Ordering::Relaxed) {
                        return (
                            ArtifactOutcome::Error(
                                "not asked: an earlier artifact on this mirror timed out".into(),
                            ),
                            0,
                        );
                    }
                    let start = Instant::now();
                    let out = f.check_artifact(&m, &rel, &a, mode).await;
                    if matches!(out, ArtifactOutcome::TimedOut(_)) {
                        stalled.store(true, Ordering::Relaxed);
                    }
                    (out, start.elapsed().as_millis() as u64)
                }),
            ));
        }
    }
    let mut results = ArtifactResults::new();
    for (i, name, h) in handles {
        let (outcome, ms) = h
            .await
            .unwrap_or_else(|e| (ArtifactOutcome::Error(format!("task failed: {e}")), 0));
        let entry = results.entry(i).or_default();
        entry.0.push((name, outcome));
        entry.1 = entry.1.max(ms);
    }
    results
}

pub(crate) fn artifact_status(results: &[(String, ArtifactOutcome)]) -> (Status, Option<String>) {
    let mut corrupt = Vec::new();
    let mut missing = Vec::new();
    for (name, o) in results {
        match o {
            ArtifactOutcome::Corrupt(why) => corrupt.push(format!("{name}: {why}")),
            ArtifactOutcome::Missing => missing.push(format!("{name}: missing")),
            ArtifactOutcome::Error(why) | ArtifactOutcome::TimedOut(why) => {
                missing.push(format!("{name}: not fetched ({why})"))
            }
            ArtifactOutcome::Ok | ArtifactOutcome::Skipped => {}
        }
    }
    if !corrupt.is_empty() {
        (Status::Corrupt, Some(join_reasons(&corrupt)))
    } else if !missing.is_empty() {
        (Status::Incomplete, Some(join_reasons(&missing)))
    } else {
        (Status::Ok, None)
    }
}

fn join_reasons(v: &[String]) -> String {
    let mut s = v.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
    if v.len() > 3 {
        s.push_str(&format!("; and {} more", v.len() - 3));
    }
    s
}

pub(crate) fn artifact_report(name: String, o: ArtifactOutcome) -> ArtifactReport {
    let (status, error) = match o {
        ArtifactOutcome::Ok => ("ok", None),
        ArtifactOutcome::Missing => ("missing", None),
        ArtifactOutcome::Corrupt(w) => ("corrupt", Some(w)),
        ArtifactOutcome::Error(w) | ArtifactOutcome::TimedOut(w) => ("error", Some(w)),
        ArtifactOutcome::Skipped => ("skipped", None),
    };
    ArtifactReport {
        name,
        status,
        error,
    }
}

struct Chain {
    root: TrustedRoot,
    /// Rotations accepted in this run, in order.
    accepted: Vec<TrustedRoot>,
    equivocations: Vec<EquivocationReport>,
    rejected: Vec<RejectedRoot>,
}

/// Walks N+1, N+2, ... over every mirror that answered at all. Candidates that fail are
/// reported and ignored; two different valid roots of one version stop the walk.
async fn walk_roots(
    fetcher: &Arc<Fetcher>,
    mirrors: &[Arc<Mirror>],
    pinned: TrustedRoot,
    rounds: &mut [FirstRound],
) -> Chain {
    let limit = fetcher.config().max_metadata_bytes;
    let mut current = pinned;
    let mut equivocations = Vec::new();
    let mut rejected = Vec::new();
    let mut accepted = Vec::new();
    // Mirrors that answered the first round (even with an error status) are asked again;
    // dead ones are not, so they cost one timeout per run, not one per root step.
    let mut responsive: Vec<usize> = rounds
        .iter()
        .enumerate()
        .filter(|(_, r)| !matches!(&r.release, Err(e) if is_dead(e)))
        .map(|(i, _)| i)
        .collect();
    let mut candidates: Vec<(usize, Candidate)> = rounds
        .iter_mut()
        .enumerate()
        .map(|(i, r)| {
            (
                i,
                std::mem::replace(&mut r.next_root, Err(FetchError::NotFound(None))),
            )
        })
        .collect();
    for _ in 0..MAX_ROOT_STEPS {
        let Some(version) = current.root.version.checked_add(1) else {
            break;
        };
        let mut valid: BTreeMap<String, (TrustedRoot, Vec<usize>)> = BTreeMap::new();
        let mut dead = Vec::new();
        for (i, c) in candidates.drain(..) {
            let judged = match c {
                Ok(j) => j,
                Err(e) => {
                    // A mirror that stalls on a root is not asked at later steps: it
                    // costs one timeout per run, not one per step.
                    if is_dead(&e) {
                        dead.push(i);
                    }
                    continue;
                }
            };
            match judged {
                Ok(next) => {
                    valid
                        .entry(next.payload_sha256.clone())
                        .or_insert_with(|| (next, Vec::new()))
                        .1
                        .push(i);
                }
                Err(error) => rejected.push(RejectedRoot {
                    version,
                    mirror: mirrors[i].url.clone(),
                    error,
                }),
            }
        }
        if valid.len() > 1 {
            equivocations.push(EquivocationReport {
                version,
                payload_sha256: valid.keys().cloned().collect(),
                mirrors: valid
                    .values()
                    .flat_map(|(_, ms)| ms.iter().map(|i| mirrors[*i].url.clone()))
                    .collect(),
                with_state: false,
                evidence: Vec::new(),
            });
            break;
        }
        responsive.retain(|i| !dead.contains(i));
        let Some((_, (next, _))) = valid.into_iter().next() else {
            break;
        };
        accepted.push(next.clone());
        current = next;
        let Some(next_version) = current.root.version.checked_add(1) else {
            break;
        };
        let path = root_path(next_version);
        let from = Arc::new(current.clone());
        // Each candidate is judged as it arrives; only the verdict is kept.
        let tasks: Vec<_> = responsive
            .iter()
            .map(|&i| {
                let (f, m, p) = (fetcher.clone(), mirrors[i].clone(), path.clone());
                let from = from.clone();
                let task = tokio::spawn(async move {
                    f.get_metadata(&m, &p)
                        .await
                        .map(|b| from.rotate(&b, limit).map_err(|e| root_reason(&e)))
                });
                (i, task)
            })
            .collect();
        for (i, t) in tasks {
            let r = t
                .await
                .unwrap_or_else(|e| Err(FetchError::Io(format!("task failed: {e}"))));
            candidates.push((i, r));
        }
    }
    Chain {
        root: current,
        accepted,
        equivocations,
        rejected,
    }
}

/// What a failed fetch says of a mirror: a local mirror's link or FIFO answered, wrongly
/// (nothing of it was read), so it is `invalid`; anything else is `unreachable`.
fn failed_fetch(rel: &str, e: &FetchError) -> Observation {
    match e {
        FetchError::Refused(_) => Observation::Invalid(format!("{rel}: {e}")),
        _ => Observation::Unreachable(format!("{rel}: {e}")),
    }
}

/// A mirror that did not answer at all (as opposed to answering with an error status).
pub(crate) fn is_dead(e: &FetchError) -> bool {
    matches!(
        e,
        FetchError::Timeout(_)
            | FetchError::Network(_)
            | FetchError::NotAsked { .. }
            | FetchError::NoDirectory(_)
    )
}

fn root_reason(e: &RootError) -> String {
    crate::envelope::one_line(e)
}
