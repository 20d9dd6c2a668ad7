//! One run of `check`, for every scheme: the pipeline.
//!
//! ```text
//! entry          ProfileCheck::load: the profile's pinned trust read, its scheme picked,
//!                its state key named (check_profile does it all in one call)
//! plan + fetch   Scheme::visit, per mirror, all mirrors at once: what to fetch, each body
//!                judged as it arrives (only judgements are kept, never bodies), each kept
//!                body written to the evidence bundle as it arrives
//! rounds         Scheme::settle decides across mirrors what some of them are asked next
//!                (a rotated root, a refetch under it, an image to stream); Scheme::revisit
//! observe        Scheme::observe: one Observation per mirror
//! judge          judge::judge, the same rules for every scheme
//! artifacts      artifacts::check, on the mirrors that serve the latest content
//! report         one MirrorReport per mirror, the scheme's notes (Scheme::describe)
//! record         record::record, the local state
//! conclude       Scheme::conclude: what the caller goes on to use (the latest release);
//!                ProfileOutcome::finish_evidence completes the bundle with the trust
//! ```
//!
//! A scheme is added by writing one module behind [`Scheme`]; it never fetches by itself
//! (a [`Visit`] does, under the fetcher's limits, and keeps evidence), never judges across
//! mirrors (the judge does), and never builds a report but its own notes. It becomes
//! reachable from profiles with one variant and one match arm in `run/profile.rs`
//! ([`ProfileCheck`]); the command line never names a scheme. [`check`] runs any scheme
//! value directly, for callers that build one themselves (tests, benchmarks).
//!
//! docs/ARCHITECTURE.md draws the whole picture: stages, folders, seams.

pub mod artifacts;
pub mod documents;
pub mod judge;
pub mod observe;
mod profile;
pub mod progress;
pub mod record;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures_util::future::BoxFuture;

use crate::evidence::{EvidenceDir, mirror_dir};
use crate::fetch::{ArtifactMode, Body, FetchConfig, FetchError, Fetcher};
use crate::profile::Mirror;
use crate::report::{
    EquivocationCopy, EquivocationReport, LatestReport, MirrorReport, Report, SCHEMA,
};
use crate::schemes::Prehash;
use crate::state::{StateError, StateStore};
use crate::time::{self, Timestamp};

pub use judge::{Audit, Judgement, Status};
pub use observe::{Document, Observation, Order, Proof, Signed};
pub use profile::{Latest, ProfileCheck, ProfileOutcome, check_profile};
pub use progress::{Progress, RunHooks, Stop};

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
    /// [`RunHooks::stop`] was asked before the run was over: no report, no state written.
    #[error("the run was stopped before it was over")]
    Stopped,
}

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub channel: String,
    pub artifacts: ArtifactMode,
    pub fetch: FetchConfig,
    pub state: Option<StateStore>,
    pub now: Timestamp,
    /// The vantage points every mirror is checked through (none: this machine only).
    pub vantages: crate::vantage::Vantages,
    /// Who follows the run as it goes, and may stop it (none by default).
    pub hooks: RunHooks,
}

/// What a run produced, whatever the scheme.
#[derive(Debug)]
pub struct Outcome<L> {
    pub report: Report,
    /// Set when the run recorded a new version in the local state.
    pub state_written: bool,
    /// Set when the run should have recorded a new version but could not write the state:
    /// the report is whole all the same, and the caller says so after showing it.
    pub state_error: Option<StateError>,
    /// Whether each mirror served any file kept as evidence (the files themselves went to
    /// the evidence directory as they arrived).
    pub served: Vec<(Mirror, bool)>,
    /// What the scheme hands to callers that go on to use the latest content.
    pub latest: L,
    /// The signed documents each entry served (runs that keep documents only).
    pub documents: Option<documents::Documents>,
}

/// What a scheme says about one way of publishing signed content (see the module
/// documentation for where each method sits in the pipeline).
pub trait Scheme: Send + Sync + 'static {
    /// What the scheme remembers of one mirror between rounds: judgements, never bodies.
    type Mirror: Send + 'static;
    /// What only the scheme reads back from an observation.
    type Detail: Send + 'static;
    /// What the caller gets of the latest content.
    type Latest;

    /// The name the local state keeps this stream under.
    fn state_key(&self) -> String;
    /// Round one for one mirror: fetches what the scheme needs through `visit`, judging
    /// each body as it arrives.
    fn visit<'a>(&'a self, visit: &'a Visit) -> BoxFuture<'a, Self::Mirror>;
    /// After a round, across all mirrors (`None`: its task failed): which mirrors are
    /// visited again. None: the rounds are over. An error ends the run (an expired root).
    fn settle(&self, mirrors: &mut [Option<Self::Mirror>]) -> Result<Vec<usize>, CheckError>;
    /// A later round for one mirror.
    fn revisit<'a>(&'a self, mirror: &'a mut Self::Mirror, visit: &'a Visit) -> BoxFuture<'a, ()>;
    /// One mirror's observation, once the rounds are over.
    fn observe(&self, mirror: Self::Mirror) -> Observation<Self::Detail>;
    /// How many keys may sign the content, for the report.
    fn key_count(&self) -> usize;
    /// Where the artifacts of `mirror` are fetched from, when not below the mirror's own
    /// URL (a TUF repository's targets URL). Artifact paths are relative to it.
    fn artifacts_from(&self, _mirror: &Mirror) -> Option<Mirror> {
        None
    }
    /// The scheme's part of the report: its name, its root, what it cannot judge.
    fn describe(
        &self,
        observations: &[Observation<Self::Detail>],
        opts: &CheckOptions,
        report: &mut Report,
    );
    /// What the caller goes on to use, once the report is whole; may add notes to it.
    fn conclude(
        &self,
        observations: &[Observation<Self::Detail>],
        audit: &Audit,
        report: &mut Report,
    ) -> Self::Latest;
}

/// Whether a fetched file goes to the evidence bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    No,
    /// Written under the mirror's directory, at the path it was fetched from.
    Add,
    /// Replaces what an earlier round kept at that path (removed if the fetch failed):
    /// the document judged last is the one kept.
    Replace,
}

/// One mirror in one run: every request a scheme makes goes through here, under the
/// fetcher's limits, and every kept body goes to the evidence bundle.
pub struct Visit {
    fetcher: Arc<Fetcher>,
    mirror: Arc<Mirror>,
    index: usize,
    evidence: Option<Arc<EvidenceDir>>,
    served: AtomicBool,
    /// Set once a request of this visit got no answer within the timeout: the mirror is
    /// not asked again in this run, in this round or a later one. The fetcher remembers
    /// silent hosts for the requests it takes turns on; URLs a scheme builds whole
    /// ([`Visit::get_url`]) name no host it knows, and a mirror dripping only those would
    /// otherwise cost a timeout per round.
    silent: AtomicBool,
    /// Set once a request could not be made through the vantage at all
    /// ([`FetchError::OutOfReach`]): what the entry shows says nothing about the mirror.
    out_of_reach: AtomicBool,
    /// What this entry served, for the history (runs that keep documents only).
    documents: Option<documents::EntryDocuments>,
}

impl Visit {
    pub fn mirror(&self) -> &Mirror {
        &self.mirror
    }

    /// Why this mirror is not asked again, if it timed out earlier in this run.
    fn not_asked(&self) -> Option<FetchError> {
        self.silent
            .load(Ordering::Acquire)
            .then(|| FetchError::NotAsked {
                host: self.mirror.url.clone(),
                why: format!("did not answer within {:?}", self.fetcher.config().timeout),
            })
    }

    fn note(&self, got: &Result<Body, FetchError>) {
        match got {
            Err(FetchError::Timeout(_)) => self.silent.store(true, Ordering::Release),
            Err(FetchError::OutOfReach(_)) => self.out_of_reach.store(true, Ordering::Release),
            _ => {}
        }
    }

    /// A metadata file, at most the fetcher's metadata limit.
    pub async fn get(&self, path: &str, keep: Keep) -> Result<Body, FetchError> {
        self.get_limited(path, keep, u64::MAX).await
    }

    /// [`Visit::get`], at most `limit` bytes (and the fetcher's metadata limit).
    pub async fn get_limited(
        &self,
        path: &str,
        keep: Keep,
        limit: u64,
    ) -> Result<Body, FetchError> {
        if let Some(e) = self.not_asked() {
            return Err(e);
        }
        let got = self
            .fetcher
            .get_metadata_limited(&self.mirror, path, limit)
            .await;
        self.note(&got);
        let bytes = got.as_ref().ok().map(|b| &b[..]);
        match keep {
            Keep::No => {}
            Keep::Add => {
                if let Some(b) = bytes {
                    self.kept(path, Some(b), false).await;
                }
            }
            Keep::Replace => self.kept(path, bytes, true).await,
        }
        got
    }

    /// Keeps a file fetched with [`Keep::No`] after all, once the scheme found it worth it
    /// (a signature file within its size limit).
    pub async fn keep(&self, path: &str, bytes: &[u8]) {
        self.kept(path, Some(bytes), false).await;
    }

    /// `path` below this mirror now holds `bytes` (or, replacing, nothing: a failed
    /// refetch), for everything that keeps what mirrors served: the evidence bundle and the
    /// history's document collector, the same way.
    async fn kept(&self, path: &str, bytes: Option<&[u8]>, replace: bool) {
        if bytes.is_some() {
            self.served.store(true, Ordering::Relaxed);
        }
        if let Some(d) = &self.documents {
            d.set(path, bytes);
        }
        if let Some(ev) = &self.evidence {
            let at = format!("{}/{path}", mirror_dir(self.index));
            match (replace, bytes) {
                (true, _) => ev.replace(&at, bytes).await,
                (false, Some(b)) => ev.keep(&at, b).await,
                (false, None) => {}
            }
        }
    }

    /// A file at a URL the scheme built whole, at most `limit` (and the fetcher's metadata
    /// limit) bytes: for names that are not plain path segments below the mirror (TUF
    /// quotes role names). Kept as `keep_as` below the mirror's directory, replacing what
    /// an earlier round kept there.
    pub async fn get_url(
        &self,
        url: url::Url,
        limit: u64,
        keep_as: Option<&str>,
    ) -> Result<Body, FetchError> {
        if let Some(e) = self.not_asked() {
            return Err(e);
        }
        let limit = limit.min(self.fetcher.config().max_metadata_bytes);
        let got = self.fetcher.get_url(Some(&self.mirror), url, limit).await;
        self.note(&got);
        if let (Some(path), Ok(bytes)) = (keep_as, &got) {
            self.kept(path, Some(&bytes[..]), true).await;
        }
        got
    }

    /// A large file streamed through `prehash`, at most `cap` bytes; never kept.
    pub async fn digest(
        &self,
        path: &str,
        cap: u64,
        prehash: Prehash,
    ) -> Result<Vec<u8>, FetchError> {
        self.fetcher.digest(&self.mirror, path, cap, prehash).await
    }
}

/// A mirror that did not answer at all (as opposed to answering with an error status).
pub fn is_dead(e: &FetchError) -> bool {
    matches!(
        e,
        FetchError::Timeout(_)
            | FetchError::Network(_)
            | FetchError::NotAsked { .. }
            | FetchError::NoDirectory(_)
            | FetchError::OutOfReach(_)
    )
}

/// Runs a whole check of one scheme; blocking, on its own runtime. Documents each mirror
/// serves go into `evidence` as they arrive; the caller completes the bundle.
pub fn check<S: Scheme>(
    scheme: S,
    profile_name: &str,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
) -> Result<Outcome<S::Latest>, CheckError> {
    check_keeping(scheme, profile_name, mirrors, opts, evidence, false)
}

/// [`check`], also keeping in memory the signed documents each mirror served
/// ([`Outcome::documents`]) when `keep_documents`: for the history.
pub fn check_keeping<S: Scheme>(
    scheme: S,
    profile_name: &str,
    mirrors: Vec<Mirror>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
    keep_documents: bool,
) -> Result<Outcome<S::Latest>, CheckError> {
    if mirrors.is_empty() {
        return Err(CheckError::NoMirrors);
    }
    crate::release::check_channel_name(&opts.channel)
        .map_err(|e| CheckError::Setup(e.to_string()))?;
    // Managed vantages start only when some mirror still has to be asked over the network
    // through them: evidence being re-checked names the vantage of every entry already, and
    // a directory is read here whatever the vantage. Tor clients bootstrap here, before the
    // run, each within its deadline.
    let needed = mirrors
        .iter()
        .any(|m| m.vantage.is_none() && matches!(m.location, crate::profile::Location::Http(_)));
    let stop = opts.hooks.stop.clone().unwrap_or_default();
    let vantages = crate::vantage::start(&opts.vantages, needed)
        .map_err(|e| CheckError::Setup(e.to_string()))?;
    if stop.is_stopped() {
        return Err(CheckError::Stopped);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CheckError::Setup(format!("cannot start the async runtime: {e}")))?;
    let run = pipeline(
        scheme,
        profile_name,
        mirrors,
        vantages,
        opts,
        evidence,
        keep_documents.then(Arc::default),
    );
    let out = rt.block_on(async {
        tokio::select! {
            out = run => out,
            () = stop.stopped() => Err(CheckError::Stopped),
        }
    });
    if matches!(out, Err(CheckError::Stopped)) {
        // The tasks still in flight hold the vantages (a managed tor among them): they are
        // dropped, and with them every tor and its directory, before the caller goes on.
        rt.shutdown_timeout(STOP_GRACE);
    } else {
        // A read stuck in the kernel (a hung network filesystem, a FIFO) must not keep the
        // process alive after its deadline passed: do not wait for blocking threads.
        rt.shutdown_background();
    }
    out
}

/// How long a stopped run waits for its tasks to be dropped (a blocking read stuck in the
/// kernel is not waited for beyond it).
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The newest version of each kind of signed document behind a mirror's content.
fn documents<D>(s: &Signed<D>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for d in &s.documents {
        let v = out.entry(d.kind.clone()).or_insert(d.version);
        *v = (*v).max(d.version);
    }
    out
}

async fn pipeline<S: Scheme>(
    scheme: S,
    profile_name: &str,
    mirrors: Vec<Mirror>,
    vantages: Vec<Arc<dyn crate::vantage::Vantage>>,
    opts: CheckOptions,
    evidence: Option<Arc<EvidenceDir>>,
    collector: Option<Arc<documents::Collector>>,
) -> Result<Outcome<S::Latest>, CheckError> {
    let key = scheme.state_key();
    let state = match &opts.state {
        Some(store) => store.load(&key, &opts.channel)?,
        None => None,
    };
    let mut matrix = crate::vantage::plan(
        mirrors,
        vantages,
        opts.vantages.each_address,
        opts.fetch.timeout,
    )
    .await;
    let fetcher = Arc::new(
        Fetcher::new(opts.fetch.clone(), &matrix.entries)
            .map_err(|e| CheckError::Setup(e.to_string()))?,
    );
    // The entries move out of the matrix (its vantages and cells stay for the report): one
    // copy of each, however many vantages multiply them.
    let mirrors: Vec<Arc<Mirror>> = std::mem::take(&mut matrix.entries)
        .into_iter()
        .map(Arc::new)
        .collect();
    let visits: Vec<Arc<Visit>> = mirrors
        .iter()
        .enumerate()
        .map(|(index, m)| {
            Arc::new(Visit {
                fetcher: fetcher.clone(),
                mirror: m.clone(),
                index,
                evidence: evidence.clone(),
                served: AtomicBool::new(false),
                silent: AtomicBool::new(false),
                out_of_reach: AtomicBool::new(false),
                documents: collector.clone().map(documents::EntryDocuments::new),
            })
        })
        .collect();
    let scheme = Arc::new(scheme);
    opts.hooks.entries(visits.len());

    // Plan, fetch, observe: round one on every mirror at once, then the rounds the scheme
    // asks for.
    let tasks: Vec<_> = visits
        .iter()
        .map(|v| {
            let (s, v, hooks) = (scheme.clone(), v.clone(), opts.hooks.clone());
            tokio::spawn(async move {
                let start = Instant::now();
                let m = s.visit(&v).await;
                hooks.entry_done();
                (m, start.elapsed().as_millis() as u64)
            })
        })
        .collect();
    let mut walks = Vec::with_capacity(tasks.len());
    let mut elapsed = Vec::with_capacity(tasks.len());
    for t in tasks {
        let (m, ms) = t.await.map_or((None, 0), |(m, ms)| (Some(m), ms));
        walks.push(m);
        elapsed.push(ms);
    }
    loop {
        let again = scheme.settle(&mut walks)?;
        if again.is_empty() {
            break;
        }
        let tasks: Vec<_> = again
            .into_iter()
            .filter_map(|i| Some((i, walks.get_mut(i)?.take()?)))
            .map(|(i, mut m)| {
                let (s, v) = (scheme.clone(), visits[i].clone());
                let task = tokio::spawn(async move {
                    s.revisit(&mut m, &v).await;
                    m
                });
                (i, task)
            })
            .collect();
        for (i, t) in tasks {
            walks[i] = t.await.ok();
        }
    }
    let mut observations: Vec<Observation<S::Detail>> = walks
        .into_iter()
        .map(|m| match m {
            Some(m) => scheme.observe(m),
            None => Observation::Unreachable("task failed".into()),
        })
        .collect();

    let audit = judge::judge(&mut observations, state.as_ref(), opts.now);

    let jobs: Vec<_> = audit
        .latest_mirrors()
        .filter_map(|i| {
            let s = observations[i].signed()?;
            (!s.artifacts.is_empty()).then(|| (i, s.artifacts.clone()))
        })
        .collect();
    if opts.artifacts != ArtifactMode::None {
        let files = jobs.iter().map(|(_, list)| list.len()).sum();
        opts.hooks.artifacts(files, jobs.len());
    }
    let artifact_mirrors: Vec<Arc<Mirror>> = mirrors
        .iter()
        .map(|m| scheme.artifacts_from(m).map_or_else(|| m.clone(), Arc::new))
        .collect();
    let mut checked = artifacts::check(&fetcher, &artifact_mirrors, jobs, opts.artifacts).await;

    let mut reports = Vec::with_capacity(mirrors.len());
    for (i, m) in mirrors.iter().enumerate() {
        let signed = observations[i].signed();
        let (status, error, arts, extra_ms) = match &audit.judgements[i] {
            Judgement::Final(st, why) => (*st, Some(why.clone()), Vec::new(), 0),
            Judgement::Latest => {
                let (results, ms) = checked.remove(&i).unwrap_or_default();
                let (mut st, mut why) = artifacts::status(&results);
                if let Some((s, w)) =
                    signed.and_then(|s| artifacts::unproven_status(&s.proof, opts.artifacts))
                {
                    (st, why) = (s, Some(w));
                }
                if let (ArtifactMode::None, Some(claim)) = (opts.artifacts, &m.artifacts_claim) {
                    // Evidence keeps no artifacts: the run that took it is taken at its word.
                    st = if claim.corrupt {
                        Status::Corrupt
                    } else {
                        Status::Incomplete
                    };
                    why = Some(format!(
                        "artifacts, as the run that took this evidence found them (not kept, so not re-checked): {}",
                        claim.reason
                    ));
                }
                let arts = results
                    .into_iter()
                    .map(|c| artifacts::report(c.name, c.outcome))
                    .collect();
                (st, why, arts, ms)
            }
        };
        reports.push(MirrorReport {
            url: m.url.clone(),
            country: m.country.clone(),
            name: m.name.clone(),
            status,
            version: signed.and_then(|s| s.order.number()),
            payload_sha256: signed.map(|s| s.content.clone()),
            signers: signed.map(|s| s.signers.clone()).unwrap_or_default(),
            published: signed.and_then(|s| s.published.as_ref().map(time::format)),
            documents: signed.map(documents).unwrap_or_default(),
            artifacts: arts,
            elapsed_ms: elapsed[i] + extra_ms,
            error,
            vantage: m.vantage.clone(),
            address: m.address.map(|a| a.to_string()),
            carried_by: None,
            out_of_reach: visits[i].out_of_reach.load(Ordering::Acquire)
                && matches!(status, Status::Unreachable | Status::Invalid),
        });
    }

    let latest = audit
        .latest
        .as_ref()
        .and_then(|l| observations[l.example].signed());
    // A mirror seen through several vantages is one URL in these lists.
    let urls_of = |is: &[usize]| -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        is.iter()
            .map(|i| &mirrors[*i].url)
            .filter(|u| seen.insert(*u))
            .cloned()
            .collect()
    };
    let vantages_of = |is: &[usize]| -> Vec<String> {
        let names: std::collections::BTreeSet<String> = is
            .iter()
            .filter_map(|i| mirrors[*i].vantage.clone())
            .collect();
        names.into_iter().collect()
    };
    let mut report = Report {
        schema: SCHEMA,
        profile: profile_name.to_owned(),
        channel: opts.channel.clone(),
        checked_at: time::format(&opts.now),
        ok: false,
        independent: false,
        latest: latest.map(|s| LatestReport {
            version: s.order.number().unwrap_or(0),
            payload_sha256: s.content.clone(),
            published: s.published.as_ref().map(time::format),
            signers: s.signers.clone(),
            release_keys: scheme.key_count(),
            equivocated: audit.latest_is_equivocated(),
        }),
        mirrors: reports,
        countries: BTreeMap::new(),
        equivocations: audit
            .equivocations
            .iter()
            .map(|e| EquivocationReport {
                kind: e.kind.clone(),
                version: e.version,
                payload_sha256: e.payload_sha256.clone(),
                mirrors: urls_of(&e.mirrors),
                with_state: e.with_state,
                evidence: e.evidence.clone(),
                copies: e
                    .copies
                    .iter()
                    .map(|c| EquivocationCopy {
                        digest: c.digest.clone(),
                        mirrors: urls_of(&c.mirrors),
                        state: c.state,
                        vantages: vantages_of(&c.mirrors),
                    })
                    .collect(),
                vantages: vantages_of(&e.mirrors),
            })
            .collect(),
        scheme: None,
        notices: Vec::new(),
        root: None,
        root_equivocations: Vec::new(),
        root_rejected: Vec::new(),
        artifacts_mode: artifacts::mode_name(opts.artifacts),
        vantages: Vec::new(),
        targeted: None,
    };
    matrix.describe(&mut report);
    scheme.describe(&observations, &opts, &mut report);
    report.summarise();

    let recorded = record::record(
        opts.state.as_ref(),
        &key,
        &opts.channel,
        state.as_ref(),
        &audit,
        opts.now,
        &mut report,
    );
    let latest = scheme.conclude(&observations, &audit, &mut report);
    Ok(Outcome {
        report,
        state_written: recorded.written,
        state_error: recorded.error,
        served: mirrors
            .iter()
            .zip(&visits)
            .map(|(m, v)| ((**m).clone(), v.served.load(Ordering::Relaxed)))
            .collect(),
        latest,
        documents: collector.map(|c| {
            c.finish(
                visits
                    .iter()
                    .map(|v| v.documents.as_ref().map(|d| d.take()).unwrap_or_default())
                    .collect(),
            )
        }),
    })
}
