//! Getting bytes from mirrors, with every limit enforced here so that no caller can forget
//! one: a deadline that covers connect and the whole body, a size cap checked before and
//! while reading, at most `length + 1` artifact bytes, bounded concurrency, no decompression.
//!
//! Nothing here decides a verdict; it only reports what bytes (or what failure) a mirror gave.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::fsutil::BelowError;
use crate::profile::{Location, Mirror, Route};
use crate::release::{Artifact, Expected};
use crate::schemes::{Prehash, Prehasher};

pub const USER_AGENT: &str = concat!("mirrorproof/", env!("CARGO_PKG_VERSION"));
const MAX_REDIRECTS: usize = 5;
/// Read buffer for local artifacts: large enough to keep SHA-NI busy, small enough that
/// memory stays constant whatever the artifact's size.
const FILE_CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// Missing file; for HTTP, the status (404 or 410) that said so.
    #[error("not found{}", .0.map(|c| format!(" (HTTP status {c})")).unwrap_or_default())]
    NotFound(Option<u16>),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("timed out after {0:?} (the limit covers connect and the whole body)")]
    Timeout(Duration),
    #[error("over the size limit of {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Network(String),
    /// The host did not answer another request within the timeout earlier in this run, or
    /// answered [`PER_HOST`] of them slowly: `why` says which.
    #[error("not asked: {host} {why} earlier in this run")]
    NotAsked { host: String, why: String },
    #[error("{0}")]
    Io(String),
    /// The vantage could not look at this (Globalping returns the first 10 KB of a body;
    /// its API failed): says nothing about the mirror.
    #[error("out of the vantage's reach: {0}")]
    OutOfReach(String),
    /// A local mirror's directory is not there at all: said as such, not as a missing
    /// file, so a typo in a path (or a host name without its scheme) is plain to see.
    #[error("directory {0} does not exist")]
    NoDirectory(String),
    /// A local mirror's path leads through a symbolic link or ends at something that is
    /// not a regular file. Its bytes were never read, so nothing of it reaches a report or
    /// the evidence; the mirror is `invalid`, not `unreachable`: it answered, wrongly.
    #[error("refused: {0}")]
    Refused(String),
}

#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Deadline for one metadata request, connect plus the whole body.
    pub timeout: Duration,
    /// Deadline for one artifact request; artifacts may be gigabytes.
    pub artifact_timeout: Duration,
    pub max_metadata_bytes: u64,
    pub concurrency: usize,
    /// Extra PEM root certificates to trust for HTTPS (e.g. a private CA).
    pub extra_roots: Vec<Vec<u8>>,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout: Duration::from_secs(30),
            artifact_timeout: Duration::from_secs(600),
            max_metadata_bytes: crate::envelope::DEFAULT_MAX_BYTES,
            concurrency: 64,
            extra_roots: Vec::new(),
        }
    }
}

/// How an artifact is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactMode {
    None,
    Size,
    Full,
}

/// What checking one artifact on one mirror found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactOutcome {
    Ok,
    Missing,
    Corrupt(String),
    Error(String),
    /// Ran out of time; the mirror is not asked for more artifacts in this run.
    TimedOut(String),
    Skipped,
}

pub struct Fetcher {
    config: FetchConfig,
    default_client: reqwest::Client,
    /// One client per proxy and pinned address (entries of vantages and of
    /// `--each-address`), built up front so that entries share connection pools.
    routed: HashMap<ClientKey, reqwest::Client>,
    /// Artifact and image transfers: `--concurrency`.
    permits: Arc<Semaphore>,
    /// Metadata requests, which are small: a larger bound, sized from the file-descriptor
    /// limit, so that mirrors that never answer (each holding a slot for a whole timeout)
    /// cannot queue the others behind them.
    meta_permits: Arc<Semaphore>,
    /// Bytes of metadata bodies held at once, in KiB. A socket waiting for an answer costs
    /// a few KiB; a body being read costs up to `--max-metadata-bytes`. Bounding the bodies
    /// separately lets thousands of requests wait at once while memory stays bounded
    /// whatever the mirrors send.
    body_budget: Arc<Semaphore>,
    /// Every host the profile names, per vantage (see [`HostKey`]): politeness and the
    /// memory of hosts that did not answer.
    hosts: HashMap<HostKey, Arc<Host>>,
    /// Every proxy entries go through (a vantage's path), and what it did: a proxy that
    /// swallows every request costs about one timeout, not one per slot-full of its
    /// entries, each of which is a host of its own.
    paths: HashMap<String, Arc<PathMemory>>,
}

/// What one proxy did in this run. Once [`PER_HOST`] requests through it got no answer, and
/// it never answered one, its other entries are not asked; likewise for downloads.
struct PathMemory {
    silent: AtomicUsize,
    answered: AtomicBool,
    stalled: AtomicUsize,
    delivered: AtomicBool,
    /// Downloads through a proxy that has delivered none yet: at most [`PER_HOST`] in all,
    /// so that a proxy stalling them all holds no more transfer slots than it takes to
    /// find out. A stalled one's turn is not given back; the semaphore is closed once the
    /// proxy delivered (everyone goes) or stalled [`PER_HOST`] times (no one does).
    trial: Semaphore,
}

impl Default for PathMemory {
    fn default() -> PathMemory {
        PathMemory {
            silent: AtomicUsize::new(0),
            answered: AtomicBool::new(false),
            stalled: AtomicUsize::new(0),
            delivered: AtomicBool::new(false),
            trial: Semaphore::new(PER_HOST),
        }
    }
}

impl PathMemory {
    fn dead(&self, failures: &AtomicUsize, successes: &AtomicBool) -> Option<usize> {
        let n = failures.load(Ordering::Acquire);
        (n >= PER_HOST && !successes.load(Ordering::Acquire)).then_some(n)
    }
}

/// Metadata requests in flight per allowed artifact transfer (see `Fetcher::meta_permits`).
/// Public so that a test can hold `check --help` to it.
pub const METADATA_SLOTS_PER_SLOT: usize = 16;
/// File descriptors kept free for everything that is not a metadata socket: artifact
/// transfers (`--concurrency` more), local files, the runtime, DNS, stdio.
const FD_HEADROOM: u64 = 256;
/// Metadata bodies held in memory at once, over all requests (see `Fetcher::body_budget`).
const BODY_BUDGET_KIB: u32 = 32 * 1024;
// Room for 16 documents of the default maximum size at once, so honest sweeps never wait.
const _: () = assert!(BODY_BUDGET_KIB >= 16 * 1024);
/// Requests one host has in flight at once, however many mirror entries point at it.
pub const PER_HOST: usize = 4;

/// One host as a mirror list names it, seen through one vantage: scheme, host name and port
/// of the mirror's URL, plus the proxy it is reached through. The name, not the resolved
/// address: resolution happens inside the HTTP client, per connection, and two names for
/// one address are two hosts here (a hostile list can name many hosts; each costs at most
/// one timeout, in parallel with the others). Redirects are followed inside one request
/// and count against the host that was asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct HostKey {
    proxy: Option<String>,
    /// With `--each-address`, each address of a name is a host of its own.
    address: Option<IpAddr>,
    /// Requests through Globalping's probes are not this machine's connections.
    route: Route,
    /// Each vantage remembers silent and slow hosts for itself: a host slow or silent
    /// through one path says nothing about another, and sharing that memory made honest
    /// mirrors look targeted (not asked through one vantage, answered through another).
    vantage: Option<String>,
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl HostKey {
    fn of(mirror: &Mirror) -> Option<HostKey> {
        let Location::Http(url) = &mirror.location else {
            return None;
        };
        Some(HostKey {
            proxy: mirror.proxy.clone(),
            address: mirror.address,
            route: mirror.route.clone(),
            vantage: mirror.vantage.clone(),
            scheme: url.scheme().to_owned(),
            // `example.org.` is the same DNS name as `example.org` (the URL parser keeps the
            // dot, and has already lowercased the name and normalised IP literals).
            host: url.host_str()?.trim_end_matches('.').to_owned(),
            port: url.port_or_known_default(),
        })
    }

    fn shown(&self) -> String {
        let mut s = format!("{}://{}", self.scheme, self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        if let Some(a) = self.address {
            s.push_str(&format!(" at {a}"));
        }
        if let Some(proxy) = &self.proxy {
            s.push_str(&format!(" (via {})", crate::vantage::redacted_proxy(proxy)));
        }
        s
    }
}

struct Host {
    shown: String,
    permits: Semaphore,
    /// Set once a metadata request to this host got no answer within the timeout: its
    /// other entries are not waited on again in this run.
    silent: AtomicBool,
    /// Set once an artifact or image download from this host ran out of its time: its
    /// other entries' downloads are not waited on again in this run. Without it, a host
    /// that serves metadata at once and stalls every download, named N times in a list,
    /// cost N / PER_HOST artifact timeouts (600 s each by default).
    stalled: AtomicBool,
    /// Metadata answers (any response, error statuses too) that took more than half of
    /// the timeout. A host answering just inside the timeout is never silent, so without
    /// this, N entries on it cost N / PER_HOST answer times (hours at the defaults for a
    /// long list); after [`PER_HOST`] slow answers its other entries are not asked.
    slow: AtomicUsize,
}

impl Fetcher {
    /// Builds one HTTP client per distinct proxy up front, so mirrors share connection pools.
    /// Raises the process's open-file limit to what the system allows (once), and sizes
    /// the number of metadata requests in flight from it.
    pub fn new(config: FetchConfig, mirrors: &[Mirror]) -> Result<Fetcher, FetchError> {
        let default_client = build_client(&config, &ClientKey::default())?;
        let mut routed = HashMap::new();
        for key in mirrors.iter().filter_map(ClientKey::of) {
            if let std::collections::hash_map::Entry::Vacant(slot) = routed.entry(key) {
                let client = build_client(&config, slot.key())?;
                slot.insert(client);
            }
        }
        let mut hosts = HashMap::new();
        for key in mirrors.iter().filter_map(HostKey::of) {
            hosts.entry(key.clone()).or_insert_with(|| {
                Arc::new(Host {
                    shown: key.shown(),
                    permits: Semaphore::new(PER_HOST),
                    silent: AtomicBool::new(false),
                    stalled: AtomicBool::new(false),
                    slow: AtomicUsize::new(0),
                })
            });
        }
        let paths = mirrors
            .iter()
            .filter_map(|m| m.proxy.clone())
            .map(|p| (p, Arc::default()))
            .collect();
        let concurrency = config.concurrency.max(1);
        let permits = Arc::new(Semaphore::new(concurrency));
        let meta_permits = Arc::new(Semaphore::new(metadata_slots(
            concurrency,
            raise_fd_limit(),
        )));
        Ok(Fetcher {
            config,
            default_client,
            routed,
            permits,
            meta_permits,
            body_budget: Arc::new(Semaphore::new(BODY_BUDGET_KIB as usize)),
            hosts,
            paths,
        })
    }

    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    fn client(&self, mirror: &Mirror) -> &reqwest::Client {
        ClientKey::of(mirror)
            .and_then(|k| self.routed.get(&k))
            .unwrap_or(&self.default_client)
    }

    fn host(&self, mirror: &Mirror) -> Option<&Arc<Host>> {
        HostKey::of(mirror).and_then(|k| self.hosts.get(&k))
    }

    fn path(&self, mirror: &Mirror) -> Option<&Arc<PathMemory>> {
        mirror.proxy.as_ref().and_then(|p| self.paths.get(p))
    }

    /// Why nothing more is asked through the mirror's proxy for metadata, if so.
    fn path_silent(&self, mirror: &Mirror) -> Option<FetchError> {
        let p = self.path(mirror)?;
        let n = p.dead(&p.silent, &p.answered)?;
        Some(FetchError::NotAsked {
            host: format!("proxy {}", proxy_shown(mirror)),
            why: format!("left {n} requests unanswered and answered none"),
        })
    }

    /// Why no download is asked through the mirror's proxy, if so.
    fn path_stalled(&self, mirror: &Mirror) -> Option<String> {
        let p = self.path(mirror)?;
        let n = p.dead(&p.stalled, &p.delivered)?;
        Some(format!(
            "not asked: downloads through proxy {} stalled {n} times and none was delivered earlier in this run",
            proxy_shown(mirror)
        ))
    }

    /// A turn among the downloads through a proxy that has delivered none yet (`None`
    /// once that is decided either way; [`Fetcher::path_stalled`] then says which).
    async fn trial(&self, mirror: &Mirror) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let p = self.path(mirror)?;
        if p.delivered.load(Ordering::Acquire) {
            return None;
        }
        p.trial.acquire().await.ok()
    }

    /// Remembers what a download through the mirror's proxy did, with its trial turn.
    fn note_download(
        &self,
        mirror: &Mirror,
        timed_out: bool,
        trial: Option<tokio::sync::SemaphorePermit<'_>>,
    ) {
        let Some(p) = self.path(mirror) else {
            return;
        };
        if timed_out {
            if let Some(t) = trial {
                t.forget();
            }
            if p.stalled.fetch_add(1, Ordering::AcqRel) + 1 >= PER_HOST
                && !p.delivered.load(Ordering::Acquire)
            {
                p.trial.close();
            }
        } else {
            p.delivered.store(true, Ordering::Release);
            p.trial.close();
        }
    }

    /// A metadata slot and room in the body budget for `limit` bytes, for reads whose size
    /// is not announced before they start (local files, a transport's answer).
    async fn slot_for_body(
        &self,
        limit: u64,
    ) -> Result<
        (
            tokio::sync::SemaphorePermit<'_>,
            tokio::sync::OwnedSemaphorePermit,
        ),
        FetchError,
    > {
        let slot = self.meta_permits.acquire().await.map_err(|_| closed())?;
        let memory = self
            .body_budget
            .clone()
            .acquire_many_owned(budget_kib(limit))
            .await
            .map_err(|_| closed())?;
        Ok((slot, memory))
    }

    /// A metadata answer slower than this counts as slow (see [`Host::slow`]).
    fn slow_after(&self) -> Duration {
        self.config.timeout / 2
    }

    /// Why the host is not asked for metadata any more in this run, if it is not.
    fn not_asked(&self, host: &Host) -> Option<FetchError> {
        let why = if host.silent.load(Ordering::Acquire) {
            format!("did not answer within {:?}", self.config.timeout)
        } else {
            let slow = host.slow.load(Ordering::Acquire);
            if slow < PER_HOST {
                return None;
            }
            format!(
                "answered slowly ({slow} answers over {:?})",
                self.slow_after()
            )
        };
        Some(FetchError::NotAsked {
            host: host.shown.clone(),
            why,
        })
    }

    /// Fetches a metadata file (at most `max_metadata_bytes`) from a mirror. At most
    /// [`PER_HOST`] requests go to one host at once; once one of them got no answer within
    /// the timeout, or [`PER_HOST`] of them were answered after more than half of it, the
    /// host's other requests fail at once with [`FetchError::NotAsked`], so a list naming
    /// one silent or slow host thousands of times costs about one or two timeouts. A host
    /// answering faster than that is never skipped.
    pub async fn get_metadata(&self, mirror: &Mirror, rel: &str) -> Result<Body, FetchError> {
        self.get_metadata_limited(mirror, rel, self.config.max_metadata_bytes)
            .await
    }

    /// [`Fetcher::get_metadata`] held to `limit` bytes when that is below the metadata limit:
    /// a scheme that knows a file's bound (TUF's 16 KiB timestamp, a length signed above it)
    /// reads no more, and reserves no more of the shared body budget.
    pub async fn get_metadata_limited(
        &self,
        mirror: &Mirror,
        rel: &str,
        limit: u64,
    ) -> Result<Body, FetchError> {
        let limit = limit.min(self.config.max_metadata_bytes);
        if let Route::Unavailable(why) = &mirror.route {
            return Err(FetchError::Network(why.clone()));
        }
        match &mirror.location {
            Location::Dir(dir) => {
                let (_permit, memory) = self.slot_for_body(limit).await?;
                let (dir, rel) = (dir.clone(), rel.to_owned());
                let timeout = self.config.timeout;
                let bytes = blocking(timeout, move || {
                    crate::fsutil::read_below(&dir, &rel, limit).map_err(|e| match e {
                        BelowError::Io(e)
                            if e.kind() == std::io::ErrorKind::NotFound && !dir.exists() =>
                        {
                            FetchError::NoDirectory(dir.display().to_string())
                        }
                        e => below_error(e, limit),
                    })
                })
                .await?;
                Ok(Body::new(bytes, memory))
            }
            Location::Http(_) if mirror.route != Route::Http => {
                self.get_routed(mirror, rel, None, limit).await
            }
            Location::Http(base) => {
                if let Some(e) = self.path_silent(mirror) {
                    return Err(e);
                }
                let host = self.host(mirror);
                let _polite = match host {
                    Some(h) => {
                        if let Some(e) = self.not_asked(h) {
                            return Err(e);
                        }
                        let p = h.permits.acquire().await.map_err(|_| closed())?;
                        // It may have gone silent or slow while this request waited its turn.
                        if let Some(e) = self.not_asked(h) {
                            return Err(e);
                        }
                        Some(p)
                    }
                    None => None,
                };
                let _permit = self.meta_permits.acquire().await.map_err(|_| closed())?;
                let url = join_url(base, rel);
                let client = self.client(mirror);
                let (result, answering) = self.fetch_body(client, url, limit).await;
                if let Some(p) = self.path(mirror) {
                    match &result {
                        Err(e) if no_answer(e) => {
                            p.silent.fetch_add(1, Ordering::AcqRel);
                        }
                        _ => p.answered.store(true, Ordering::Release),
                    }
                }
                if let Some(h) = host {
                    match &result {
                        Err(e) if no_answer(e) => h.silent.store(true, Ordering::Release),
                        _ if answering > self.slow_after() => {
                            h.slow.fetch_add(1, Ordering::AcqRel);
                        }
                        _ => {}
                    }
                }
                result
            }
        }
    }

    /// One request for a URL the caller built whole, with its own size limit: TUF names
    /// its files itself (percent-encoded role names, `VERSION.ROLE.json`) and bounds each
    /// role separately. The same deadline (connect and whole body), body budget and size
    /// checks as [`Fetcher::get_metadata`]; the URL names no profile mirror, so there is
    /// no per-host turn-taking.
    /// `via` is the mirror entry the URL belongs to: its proxy, pinned address or
    /// vantage route carries the request, as for its other files.
    pub async fn get_url(
        &self,
        via: Option<&Mirror>,
        url: reqwest::Url,
        limit: u64,
    ) -> Result<Body, FetchError> {
        if let Some(m) = via.filter(|m| m.route != Route::Http) {
            return self.get_routed(m, "", Some(url), limit).await;
        }
        let _permit = self.meta_permits.acquire().await.map_err(|_| closed())?;
        let client = via.map_or(&self.default_client, |m| self.client(m));
        self.fetch_body(client, url, limit).await.0
    }

    /// A metadata request of an entry whose vantage does not use this machine's HTTP
    /// client: Globalping's probes, or a vantage that could not be set up.
    async fn get_routed(
        &self,
        mirror: &Mirror,
        rel: &str,
        url: Option<reqwest::Url>,
        limit: u64,
    ) -> Result<Body, FetchError> {
        let url = match (url, &mirror.location) {
            (Some(u), _) => u,
            (None, Location::Http(base)) => join_url(base, rel),
            (None, Location::Dir(_)) => return Err(FetchError::Io("not an HTTP mirror".into())),
        };
        match &mirror.route {
            Route::Http => Err(FetchError::Io("not a routed mirror".into())),
            Route::Unavailable(why) => Err(FetchError::Network(why.clone())),
            Route::Via(via) => {
                let (_permit, memory) = self.slot_for_body(limit).await?;
                let bytes = via
                    .transport
                    .get(via.entry, &url, limit, self.config.timeout)
                    .await?;
                Ok(Body::new(bytes, memory))
            }
        }
    }

    /// One metadata request: the timeout covers connect, headers and body, but not the wait
    /// for body memory (other requests' bodies, each bounded by its own deadline), so an
    /// honest mirror is never timed out, and remembered as silent, because junk from
    /// others filled the budget. Also returns how long the host took to answer (that wait
    /// left out, for the same reason), which decides whether the answer was slow.
    async fn fetch_body(
        &self,
        client: &reqwest::Client,
        url: reqwest::Url,
        limit: u64,
    ) -> (Result<Body, FetchError>, Duration) {
        let timeout = self.config.timeout;
        let started = Instant::now();
        let mut resp = match deadline(timeout, send(client, reqwest::Method::GET, url)).await {
            Ok(resp) => resp,
            Err(e) => return (Err(e), started.elapsed()),
        };
        let spent = started.elapsed();
        let announced = resp.content_length();
        if announced.is_some_and(|n| n > limit) {
            return (Err(FetchError::TooLarge(limit)), spent);
        }
        let expect = announced.unwrap_or(limit).min(limit);
        let memory = match self
            .body_budget
            .clone()
            .acquire_many_owned(budget_kib(expect))
            .await
        {
            Ok(memory) => memory,
            Err(_) => return (Err(closed()), spent),
        };
        let left = timeout.saturating_sub(spent);
        let reading = Instant::now();
        let result = deadline(left, async move {
            // Announced lengths are at most `limit`; no doubling past what was reserved.
            let mut body = Vec::with_capacity(expect.min(BODY_BUDGET_BYTES) as usize);
            while let Some(chunk) = resp.chunk().await.map_err(net)? {
                let len = (body.len() + chunk.len()) as u64;
                if len > limit {
                    return Err(FetchError::TooLarge(limit));
                }
                if len > expect {
                    return Err(FetchError::Network(
                        "body longer than its Content-Length".into(),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Body::new(body, memory))
        })
        .await
        .map_err(|e| match e {
            FetchError::Timeout(_) => FetchError::Timeout(timeout),
            other => other,
        });
        (result, spent + reading.elapsed())
    }

    /// Waits for a turn on the mirror's host (artifacts and images), so that many entries
    /// on one host never open more than [`PER_HOST`] connections to it.
    async fn polite(&self, mirror: &Mirror) -> Option<tokio::sync::SemaphorePermit<'_>> {
        match self.host(mirror) {
            Some(h) => h.permits.acquire().await.ok(),
            None => None,
        }
    }

    /// Checks one artifact on one mirror with one request, reading at most `length + 1`
    /// bytes through every listed digest at once. There is never a second request: a
    /// mirror must not get another chance to serve other bytes.
    pub async fn check_artifact(
        &self,
        mirror: &Mirror,
        rel: &str,
        artifact: &Artifact,
        mode: ArtifactMode,
    ) -> ArtifactOutcome {
        if mode == ArtifactMode::None {
            return ArtifactOutcome::Skipped;
        }
        match &mirror.route {
            Route::Http => {}
            Route::Unavailable(why) => return ArtifactOutcome::Error(why.clone()),
            Route::Via(via) => {
                if via.transport.artifacts().is_err() {
                    return ArtifactOutcome::Skipped;
                }
            }
        }
        let host = self.host(mirror);
        if let Some(why) = self.stalled(host).or_else(|| self.path_stalled(mirror)) {
            return ArtifactOutcome::Error(why);
        }
        let _polite = self.polite(mirror).await;
        let trial = self.trial(mirror).await;
        // It may have stalled while this download waited its turn.
        if let Some(why) = self.stalled(host).or_else(|| self.path_stalled(mirror)) {
            return ArtifactOutcome::Error(why);
        }
        let Ok(_permit) = self.permits.acquire().await else {
            return ArtifactOutcome::Error("shutting down".into());
        };
        // And while it waited for a transfer slot.
        if let Some(why) = self.path_stalled(mirror) {
            return ArtifactOutcome::Error(why);
        }
        let timeout = self.config.artifact_timeout;
        let result = match &mirror.location {
            Location::Dir(dir) => {
                let (dir, rel) = (dir.clone(), rel.to_owned());
                let artifact = artifact.clone();
                blocking(timeout, move || {
                    Ok(check_below(&dir, &rel, &artifact, mode))
                })
                .await
            }
            Location::Http(base) => {
                let url = join_url(base, rel);
                let client = self.client(mirror).clone();
                let artifact = artifact.clone();
                deadline(timeout, check_http(client, url, artifact, mode)).await
            }
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(FetchError::NotFound(_)) => ArtifactOutcome::Missing,
            Err(e @ FetchError::Timeout(_)) => ArtifactOutcome::TimedOut(e.to_string()),
            Err(e) => ArtifactOutcome::Error(e.to_string()),
        };
        if let (Some(h), ArtifactOutcome::TimedOut(_)) = (host, &outcome) {
            h.stalled.store(true, Ordering::Release);
        }
        if matches!(mirror.location, Location::Http(_)) {
            let timed_out = matches!(outcome, ArtifactOutcome::TimedOut(_));
            self.note_download(mirror, timed_out, trial);
        }
        outcome
    }

    /// Why a download from `host` is not asked for: an earlier one ran out of time.
    fn stalled(&self, host: Option<&Arc<Host>>) -> Option<String> {
        host.filter(|h| h.stalled.load(Ordering::Acquire)).map(|h| {
            format!(
                "not asked: {} did not deliver a download within {}s earlier in this run",
                h.shown,
                self.config.artifact_timeout.as_secs_f64()
            )
        })
    }
}

impl Fetcher {
    /// Streams a signed file through the digest its signature names, reading at most
    /// `cap + 1` bytes, so a multi-gigabyte image is verified in constant memory.
    pub async fn digest(
        &self,
        mirror: &Mirror,
        rel: &str,
        cap: u64,
        prehash: Prehash,
    ) -> Result<Vec<u8>, FetchError> {
        match &mirror.route {
            Route::Http => {}
            Route::Unavailable(why) => return Err(FetchError::Network(why.clone())),
            Route::Via(via) => {
                return Err(FetchError::OutOfReach(
                    via.transport
                        .artifacts()
                        .err()
                        .unwrap_or("not a download")
                        .to_owned(),
                ));
            }
        }
        let host = self.host(mirror);
        if let Some(why) = self.stalled(host).or_else(|| self.path_stalled(mirror)) {
            return Err(FetchError::Network(why));
        }
        let _polite = self.polite(mirror).await;
        if let Some(why) = self.stalled(host).or_else(|| self.path_stalled(mirror)) {
            return Err(FetchError::Network(why));
        }
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        let timeout = self.config.artifact_timeout;
        let result = match &mirror.location {
            Location::Dir(dir) => {
                let (dir, rel) = (dir.clone(), rel.to_owned());
                blocking(timeout, move || {
                    let file =
                        crate::fsutil::open_below(&dir, &rel).map_err(|e| below_error(e, cap))?;
                    digest_file(file, cap, prehash)
                })
                .await
            }
            Location::Http(base) => {
                let url = join_url(base, rel);
                let client = self.client(mirror).clone();
                deadline(timeout, async move {
                    let mut hasher = Prehasher::new(prehash)
                        .ok_or_else(|| FetchError::Io("no digest to stream through".into()))?;
                    let mut resp = send(&client, reqwest::Method::GET, url).await?;
                    if resp.content_length().is_some_and(|n| n > cap) {
                        return Err(FetchError::TooLarge(cap));
                    }
                    let mut seen = 0u64;
                    while let Some(chunk) = resp.chunk().await.map_err(net)? {
                        seen = seen.saturating_add(chunk.len() as u64);
                        if seen > cap {
                            return Err(FetchError::TooLarge(cap));
                        }
                        hasher.update(&chunk);
                    }
                    Ok(hasher.finish())
                })
                .await
            }
        };
        if let (Some(h), Err(FetchError::Timeout(_))) = (host, &result) {
            h.stalled.store(true, Ordering::Release);
        }
        if matches!(mirror.location, Location::Http(_)) {
            self.note_download(mirror, matches!(result, Err(FetchError::Timeout(_))), None);
        }
        result
    }
}

/// Chunks of a streamed body in flight between the network and the sink's thread: enough
/// that neither waits on the other when their speeds wobble, few enough that memory stays
/// constant (each is at most one read of the HTTP client's buffer).
const STREAM_CHUNKS: usize = 4;

impl Fetcher {
    /// Streams one URL the caller built whole (a TUF target) into `sink`, in constant
    /// memory, for callers that must keep what they verify without holding it: the body
    /// goes to the sink as it arrives, on a thread of its own, so that hashing and writing
    /// run beside the network instead of after it.
    ///
    /// At most `limit` bytes reach the sink: a body announced longer is refused before it
    /// is read, and one that runs past `limit` is cut at the first byte over it. The
    /// artifact deadline covers connect, the whole body and the sink's writes, so a stuck
    /// disk is a timeout too. The URL names no profile mirror, so there is no per-host
    /// turn-taking (as in [`Fetcher::get_url`]); the transfer takes one artifact slot.
    ///
    /// The outer error is the fetch's; the inner one is the sink's own, returned with
    /// nothing more read once it failed. On any error the sink's contents are unverified
    /// and the caller must throw them away.
    pub async fn stream_url<W>(
        &self,
        url: reqwest::Url,
        limit: u64,
        sink: W,
    ) -> Result<std::io::Result<W>, FetchError>
    where
        W: std::io::Write + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        let client = &self.default_client;
        deadline(self.config.artifact_timeout, async move {
            let mut resp = send(client, reqwest::Method::GET, url).await?;
            if resp.content_length().is_some_and(|n| n > limit) {
                return Err(FetchError::TooLarge(limit));
            }
            let (tx, rx) = tokio::sync::mpsc::channel(STREAM_CHUNKS);
            let writer = tokio::task::spawn_blocking(move || drain(rx, sink));
            let mut seen = 0u64;
            while let Some(chunk) = resp.chunk().await.map_err(net)? {
                seen = seen.saturating_add(chunk.len() as u64);
                if seen > limit {
                    // Dropping the sender ends the writer after what it already has.
                    return Err(FetchError::TooLarge(limit));
                }
                if tx.send(chunk).await.is_err() {
                    // The writer stopped: its error says why.
                    break;
                }
            }
            drop(tx);
            writer
                .await
                .map_err(|e| FetchError::Io(format!("writer failed: {e}")))
        })
        .await
    }
}

/// The sink's side of [`Fetcher::stream_url`]: writes every chunk until the sender is
/// gone, then flushes. The first failure ends it (the sender then sees it closed).
fn drain<T: AsRef<[u8]>, W: std::io::Write>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
    mut sink: W,
) -> std::io::Result<W> {
    while let Some(chunk) = rx.blocking_recv() {
        sink.write_all(chunk.as_ref())?;
    }
    sink.flush()?;
    Ok(sink)
}

/// [`Fetcher::digest`] for a user's own file (`verify --key/--sig` on downloads), which
/// may be a link: the user named it.
pub fn digest_local(path: &Path, cap: u64, prehash: Prehash) -> Result<Vec<u8>, FetchError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(&e, cap))?;
    digest_file(file, cap, prehash)
}

fn digest_file(file: std::fs::File, cap: u64, prehash: Prehash) -> Result<Vec<u8>, FetchError> {
    let mut hasher = Prehasher::new(prehash)
        .ok_or_else(|| FetchError::Io("no digest to stream through".into()))?;
    crate::stream::read_ahead(file, cap, FILE_CHUNK, |c| hasher.update(c)).map_err(
        |e| match e {
            crate::stream::StreamError::TooLarge(_) => FetchError::TooLarge(cap),
            crate::stream::StreamError::Io(e) => FetchError::Io(e.to_string()),
        },
    )?;
    Ok(hasher.finish())
}

/// Whether a request got no answer in time (as opposed to an answer that was an error).
fn no_answer(e: &FetchError) -> bool {
    match e {
        FetchError::Timeout(_) => true,
        FetchError::Network(m) => m.starts_with("timed out"),
        _ => false,
    }
}

const BODY_BUDGET_BYTES: u64 = BODY_BUDGET_KIB as u64 * 1024;

/// A metadata body, holding its share of the body budget for as long as the caller holds
/// the bytes: a body waiting to be judged or written to a slow evidence disk still counts,
/// so bodies cannot pile up outside the budget however many mirrors answer at once. Each
/// caller judges a body and drops it before its next request, so no task waits for budget
/// while holding some.
pub struct Body {
    bytes: Vec<u8>,
    _memory: tokio::sync::OwnedSemaphorePermit,
}

impl Body {
    /// Keeps only the share the body really takes (a local read reserves the whole limit
    /// before it knows the size).
    fn new(bytes: Vec<u8>, mut memory: tokio::sync::OwnedSemaphorePermit) -> Body {
        let need = budget_kib(bytes.len() as u64) as usize;
        if memory.num_permits() > need {
            drop(memory.split(memory.num_permits() - need));
        }
        Body {
            bytes,
            _memory: memory,
        }
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Body({} bytes)", self.bytes.len())
    }
}

/// KiB of the body budget a body of `bytes` takes: at least 1, at most the whole budget
/// (so that one request with a huge `--max-metadata-bytes` can still proceed, alone).
fn budget_kib(bytes: u64) -> u32 {
    bytes.div_ceil(1024).clamp(1, u64::from(BODY_BUDGET_KIB)) as u32
}

/// Metadata requests in flight: `METADATA_SLOTS_PER_SLOT` × `--concurrency`, bounded by
/// the open files the process may have (after `FD_HEADROOM` and one per artifact
/// transfer), and never fewer than `--concurrency`.
fn metadata_slots(concurrency: usize, open_files: u64) -> usize {
    let fds = open_files
        .saturating_sub(FD_HEADROOM)
        .saturating_sub(concurrency as u64);
    let fds = usize::try_from(fds).unwrap_or(usize::MAX);
    concurrency
        .saturating_mul(METADATA_SLOTS_PER_SLOT)
        .min(fds)
        .max(concurrency)
}

/// Raises the soft open-file limit to the hard one, once per process, and returns the
/// soft limit now in force. A sweep holds one socket per request in flight, and the usual
/// soft default (1024) would otherwise cap it, or fail requests with EMFILE.
pub fn raise_fd_limit() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        #[cfg(unix)]
        {
            use rustix::process::{Resource, getrlimit, setrlimit};
            let now = getrlimit(Resource::Nofile);
            if now.current.is_some() && now.current != now.maximum {
                let raised = rustix::process::Rlimit {
                    current: now.maximum,
                    maximum: now.maximum,
                };
                if setrlimit(Resource::Nofile, raised).is_ok() {
                    return now.maximum.unwrap_or(u64::MAX);
                }
            }
            now.current.unwrap_or(u64::MAX)
        }
        #[cfg(not(unix))]
        {
            u64::MAX
        }
    })
}

fn closed() -> FetchError {
    FetchError::Io("fetcher closed".into())
}

/// The mirror's proxy as reports may show it (without its password).
fn proxy_shown(mirror: &Mirror) -> String {
    mirror
        .proxy
        .as_deref()
        .map(crate::vantage::redacted_proxy)
        .unwrap_or_default()
}

/// A way of getting metadata documents that is not this machine's HTTP client (a
/// measurement network's probes). The fetcher still holds it to its limits: a slot among
/// the metadata requests, a share of the body budget, and `timeout` over the whole request.
pub trait Transport: Send + Sync {
    /// A short name for reasons and keys ("globalping:FR").
    fn name(&self) -> &str;
    /// One document at `url`, at most `limit` bytes, within `timeout`, for matrix entry
    /// `entry` (so that the transport can record who carried it).
    fn get<'a>(
        &'a self,
        entry: usize,
        url: &'a reqwest::Url,
        limit: u64,
        timeout: Duration,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<u8>, FetchError>>;
    /// `Err(why)` when downloads (artifacts, images) cannot go this way at all.
    fn artifacts(&self) -> Result<(), &'static str>;
}

/// What makes one entry's HTTP client differ from another's: its proxy, and the address its
/// host name is pinned to (`--each-address`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct ClientKey {
    proxy: Option<String>,
    pin: Option<(String, std::net::SocketAddr)>,
}

impl ClientKey {
    fn of(mirror: &Mirror) -> Option<ClientKey> {
        let pin = match (&mirror.location, mirror.address) {
            (Location::Http(url), Some(ip)) => {
                let host = url.host_str()?.to_owned();
                Some((
                    host,
                    std::net::SocketAddr::new(ip, url.port_or_known_default()?),
                ))
            }
            _ => None,
        };
        (mirror.proxy.is_some() || pin.is_some()).then(|| ClientKey {
            proxy: mirror.proxy.clone(),
            pin,
        })
    }
}

fn build_client(config: &FetchConfig, key: &ClientKey) -> Result<reqwest::Client, FetchError> {
    let proxy = key.proxy.as_deref();
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .connect_timeout(config.timeout)
        // No idle connections are kept: each keeps the read buffer it grew while carrying
        // an artifact, so a sweep of hundreds of mirrors would hold hundreds of them
        // (measured: 150 MiB for 300 mirrors). Without pooling, memory follows
        // --concurrency, not the number of mirrors; a new connection per request is cheap
        // next to the artifact it carries.
        .pool_max_idle_per_host(0)
        .referer(false);
    if let Some(p) = proxy {
        let proxy = reqwest::Proxy::all(p).map_err(|e| {
            FetchError::Network(format!("proxy {}: {e}", crate::vantage::redacted_proxy(p)))
        })?;
        b = b.proxy(proxy);
    }
    if let Some((host, addr)) = &key.pin {
        // Same Host header and TLS name, one address: DNS is not asked for this name.
        b = b.resolve(host, *addr);
    }
    let mut certs = Vec::new();
    for pem in &config.extra_roots {
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(FetchError::Network(
                "CA certificate file holds no PEM certificate".into(),
            ));
        }
        certs.push(
            reqwest::Certificate::from_pem(pem)
                .map_err(|e| FetchError::Network(format!("CA certificate: {e}")))?,
        );
    }
    if !certs.is_empty() {
        b = b.tls_certs_merge(certs);
    }
    b.build()
        .map_err(|e| FetchError::Network(format!("cannot set up HTTP client: {}", error_chain(&e))))
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: reqwest::Url,
) -> Result<reqwest::Response, FetchError> {
    let resp = client.request(method, url).send().await.map_err(net)?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
        return Err(FetchError::NotFound(Some(status.as_u16())));
    }
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    Ok(resp)
}

async fn deadline<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, FetchError>>,
) -> Result<T, FetchError> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or(Err(FetchError::Timeout(limit)))
}

/// Runs file I/O off the async threads. The deadline stops waiting for it, so a stuck
/// network filesystem cannot hold up the run (the thread itself finishes on its own).
async fn blocking<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> Result<T, FetchError> + Send + 'static,
) -> Result<T, FetchError> {
    deadline(limit, async move {
        tokio::task::spawn_blocking(f)
            .await
            .unwrap_or_else(|e| Err(FetchError::Io(format!("worker failed: {e}"))))
    })
    .await
}

fn net(e: reqwest::Error) -> FetchError {
    // The report names the mirror already; reqwest's "for url (...)" would only push the
    // cause out of sight.
    let e = e.without_url();
    if e.is_timeout() {
        return FetchError::Network(format!("timed out: {}", error_chain(&e)));
    }
    FetchError::Network(error_chain(&e))
}

/// Longest network reason kept: the whole cause, while one hostile error text still
/// cannot grow a report without bound.
const MAX_REASON_CHARS: usize = 2000;

/// reqwest's top-level message hides the cause (e.g. the TLS reason); users need it, whole
/// and on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", line.get(..cut).unwrap_or_default()),
        None => line,
    }
}

fn below_error(e: BelowError, limit: u64) -> FetchError {
    match e {
        BelowError::Refused(why) => FetchError::Refused(why),
        BelowError::Io(e) => io_error(&e, limit),
    }
}

fn io_error(e: &std::io::Error, limit: u64) -> FetchError {
    match e.kind() {
        std::io::ErrorKind::NotFound => FetchError::NotFound(None),
        std::io::ErrorKind::InvalidData => FetchError::TooLarge(limit),
        _ => FetchError::Io(e.to_string()),
    }
}

/// Joins validated relative path segments under a base URL, percent-encoding each one.
pub fn join_url(base: &reqwest::Url, rel: &str) -> reqwest::Url {
    let mut url = base.clone();
    if let Ok(mut segs) = url.path_segments_mut() {
        segs.pop_if_empty();
        for s in rel.split('/') {
            segs.push(s);
        }
    }
    url
}

/// Streams every listed digest over the same chunks and counts bytes, stopping at
/// `length + 1`. One hasher per algorithm, created only when the artifact lists it, so an
/// artifact with one listed digest costs exactly one hash.
struct Meter {
    sha256: Option<Sha256>,
    /// SHA-512 through the same implementation as signature prehashes (aws-lc's assembly,
    /// about 1.4 times as fast as `sha2` where the CPU has no SHA-512 instructions).
    sha512: Option<Prehasher>,
    length: u64,
    /// False when `length` is only a cap (checksum lists sign no length).
    exact: bool,
    seen: u64,
    hashing: bool,
}

impl Meter {
    fn new(artifact: &Artifact, hash: bool) -> Meter {
        let lists = |f: fn(&Expected) -> bool| hash && artifact.digests.iter().any(f);
        Meter {
            sha256: lists(|d| matches!(d, Expected::Sha256(_))).then(Sha256::new),
            sha512: lists(|d| matches!(d, Expected::Sha512(_))).then(Prehasher::sha512),
            length: artifact.length,
            exact: artifact.length_signed,
            seen: 0,
            hashing: hash,
        }
    }

    /// Feeds bytes; returns false once more than `length` bytes arrived (no need to go on).
    fn feed(&mut self, chunk: &[u8]) -> bool {
        let room = (self.length.saturating_add(1) - self.seen).min(chunk.len() as u64) as usize;
        let take = &chunk[..room];
        self.seen += take.len() as u64;
        if self.seen > self.length {
            return false;
        }
        if let Some(h) = &mut self.sha256 {
            h.update(take);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(take);
        }
        true
    }

    /// Judges length, then every listed digest: all must match, and a report names each
    /// one that did not.
    fn finish(self, digests: &[Expected]) -> ArtifactOutcome {
        if self.seen > self.length {
            return ArtifactOutcome::Corrupt(if self.exact {
                format!("longer than the signed {} bytes", self.length)
            } else {
                format!("larger than the {}-byte limit", self.length)
            });
        }
        if self.exact && self.seen < self.length {
            return ArtifactOutcome::Corrupt(format!(
                "{} bytes where {} were signed",
                self.seen, self.length
            ));
        }
        if !self.hashing {
            return ArtifactOutcome::Ok;
        }
        if digests.is_empty() {
            // Never produced by the parsers; refusing is the only safe reading of it.
            return ArtifactOutcome::Corrupt("no listed digest to check it against".into());
        }
        let sha256 = self.sha256.map(|h| h.finalize());
        let sha512 = self.sha512.map(Prehasher::finish);
        let mut failed: Vec<&'static str> = Vec::new();
        for d in digests {
            let ok = match d {
                Expected::Sha256(want) => sha256.as_ref().is_some_and(|got| got.as_slice() == want),
                Expected::Sha512(want) => sha512.as_ref().is_some_and(|got| got.as_slice() == want),
            };
            if !ok && !failed.contains(&d.algorithm()) {
                failed.push(d.algorithm());
            }
        }
        match failed.as_slice() {
            [] => ArtifactOutcome::Ok,
            [one] => ArtifactOutcome::Corrupt(format!("{one} does not match the signed release")),
            many => ArtifactOutcome::Corrupt(format!(
                "{} do not match the signed release",
                many.join(" and ")
            )),
        }
    }
}

/// Checks a user's own file (`verify FILE`), which may be a link: the user named it.
pub fn check_local(path: &Path, artifact: &Artifact, mode: ArtifactMode) -> ArtifactOutcome {
    match std::fs::File::open(path) {
        Ok(f) => check_file(f, artifact, mode),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ArtifactOutcome::Missing,
        Err(e) => ArtifactOutcome::Error(e.to_string()),
    }
}

/// Checks an artifact of a local mirror, opened by [`crate::fsutil::open_below`]. A link
/// or a non-regular file where the artifact should be is `corrupt` and is never read: the
/// mirror does not serve the signed bytes as a file of its own.
fn check_below(dir: &Path, rel: &str, artifact: &Artifact, mode: ArtifactMode) -> ArtifactOutcome {
    match crate::fsutil::open_below(dir, rel) {
        Ok(f) => check_file(f, artifact, mode),
        Err(BelowError::Refused(why)) => ArtifactOutcome::Corrupt(format!("refused: {why}")),
        Err(BelowError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            ArtifactOutcome::Missing
        }
        Err(BelowError::Io(e)) => ArtifactOutcome::Error(e.to_string()),
    }
}

/// Hashes an open file in constant memory through every listed digest in one pass.
fn check_file(file: std::fs::File, artifact: &Artifact, mode: ArtifactMode) -> ArtifactOutcome {
    if mode == ArtifactMode::Size && !artifact.length_signed {
        // Nothing signed to compare a size with: presence is all this mode can tell.
        return ArtifactOutcome::Skipped;
    }
    if mode == ArtifactMode::Size {
        return match file.metadata() {
            Ok(m) if m.len() == artifact.length => ArtifactOutcome::Ok,
            Ok(m) => ArtifactOutcome::Corrupt(format!(
                "{} bytes where {} were signed",
                m.len(),
                artifact.length
            )),
            Err(e) => ArtifactOutcome::Error(e.to_string()),
        };
    }
    let mut meter = Meter::new(artifact, true);
    let mut reader = file.take(artifact.length.saturating_add(1));
    let read = if meter.sha256.is_some() && meter.sha512.is_some() {
        read_with_sha512_beside(&mut reader, &mut meter)
    } else {
        read_into(&mut reader, &mut meter)
    };
    match read {
        Ok(()) => meter.finish(&artifact.digests),
        Err(e) => ArtifactOutcome::Error(e.to_string()),
    }
}

/// Feeds `reader` to the meter until it ends or the meter has seen too much.
fn read_into(reader: &mut impl Read, meter: &mut Meter) -> std::io::Result<()> {
    let mut buf = vec![0u8; FILE_CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                if !meter.feed(&buf[..n]) {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Buffers circulating between the reader and the sha512 thread: enough to keep both busy,
/// few enough that memory stays constant.
const SHA512_BUFFERS: usize = 3;

/// [`read_into`] for a file that lists both sha256 and sha512. sha512 has no hardware
/// support and runs at about a third of SHA-NI sha256's speed, so it gets its own thread,
/// fed the very buffers the meter (counting and sha256) has just seen: still one read of
/// the file, and with a second core free, about the time of sha512 alone instead of the
/// sum of both (the CPU time is the same either way). If no thread can be started, both
/// run here one after the other.
fn read_with_sha512_beside(reader: &mut impl Read, meter: &mut Meter) -> std::io::Result<()> {
    use std::sync::mpsc::sync_channel;
    let Some(mut sha512) = meter.sha512.take() else {
        return read_into(reader, meter);
    };
    let (full_tx, full_rx) = sync_channel::<(Vec<u8>, usize)>(SHA512_BUFFERS);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(SHA512_BUFFERS);
    for _ in 0..SHA512_BUFFERS {
        let _ = empty_tx.send(vec![0u8; FILE_CHUNK]);
    }
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("sha512".into())
            .spawn_scoped(scope, move || {
                for (buf, n) in full_rx {
                    sha512.update(buf.get(..n).unwrap_or_default());
                    // The reader may have stopped: a buffer nobody takes back is fine.
                    let _ = empty_tx.send(buf);
                }
                sha512
            });
        let Ok(worker) = worker else {
            // Nothing was read yet: start over with both hashers on this thread.
            meter.sha512 = Some(Prehasher::sha512());
            return read_into(reader, meter);
        };
        let mut result = Ok(());
        // Ends when the worker is gone (it hands every buffer back while it runs).
        'chunks: while let Ok(mut buf) = empty_rx.recv() {
            let n = loop {
                match reader.read(&mut buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        result = Err(e);
                        break 'chunks;
                    }
                }
            };
            // At the end, or too long (the length decides; no digest is needed then).
            if n == 0 || !meter.feed(&buf[..n]) {
                break;
            }
            if full_tx.send((buf, n)).is_err() {
                break;
            }
        }
        drop(full_tx);
        match worker.join() {
            Ok(h) => {
                meter.sha512 = Some(h);
                result
            }
            Err(_) => Err(std::io::Error::other("the sha512 thread failed")),
        }
    })
}

async fn check_http(
    client: reqwest::Client,
    url: reqwest::Url,
    artifact: Artifact,
    mode: ArtifactMode,
) -> Result<ArtifactOutcome, FetchError> {
    if mode == ArtifactMode::Size {
        // Servers that refuse HEAD fall through to a counted GET below.
        let resp = match send(&client, reqwest::Method::HEAD, url.clone()).await {
            Ok(r) => Some(r),
            Err(e @ FetchError::NotFound(_)) => return Err(e),
            // With no signed size, HEAD is the only check this mode makes: its failure
            // is the answer, not a reason to download the whole file.
            Err(e) if !artifact.length_signed => return Err(e),
            Err(_) => None,
        };
        // A HEAD response has an empty body, so reqwest's content_length() is 0; the
        // header is what announces the size.
        let announced = resp.map(|resp| {
            resp.headers()
                .get(reqwest::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        });
        if !artifact.length_signed {
            // Found, and no signed size to compare with: presence is all this mode can tell.
            return Ok(ArtifactOutcome::Skipped);
        }
        if let Some(n) = announced.flatten() {
            return Ok(if n == artifact.length {
                ArtifactOutcome::Ok
            } else {
                ArtifactOutcome::Corrupt(format!("{n} bytes where {} were signed", artifact.length))
            });
        }
    }
    let mut resp = send(&client, reqwest::Method::GET, url).await?;
    if let Some(n) = resp.content_length()
        && n > artifact.length
    {
        return Ok(ArtifactOutcome::Corrupt(if artifact.length_signed {
            format!("served as {n} bytes where {} were signed", artifact.length)
        } else {
            format!(
                "served as {n} bytes, over the {}-byte limit",
                artifact.length
            )
        }));
    }
    let mut meter = Meter::new(&artifact, mode == ArtifactMode::Full);
    let started = Instant::now();
    while let Some(chunk) = resp.chunk().await.map_err(net)? {
        if !meter.feed(&chunk) {
            break;
        }
    }
    let _ = started;
    Ok(meter.finish(&artifact.digests))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Sha512;

    fn artifact(data: &[u8]) -> Artifact {
        Artifact {
            name: "a".into(),
            length: data.len() as u64,
            length_signed: true,
            digests: vec![Expected::Sha256(Sha256::digest(data).into())],
        }
    }

    #[test]
    fn meter_judges_length_and_hash() {
        let a = artifact(b"hello world");
        let mut m = Meter::new(&a, true);
        assert!(m.feed(b"hello "));
        assert!(m.feed(b"world"));
        assert_eq!(m.finish(&a.digests), ArtifactOutcome::Ok);

        let mut m = Meter::new(&a, true);
        assert!(!m.feed(b"hello world!!"));
        assert!(matches!(m.finish(&a.digests), ArtifactOutcome::Corrupt(_)));

        let mut m = Meter::new(&a, true);
        m.feed(b"hello");
        assert!(matches!(m.finish(&a.digests), ArtifactOutcome::Corrupt(_)));

        let mut m = Meter::new(&a, true);
        m.feed(b"hellO world");
        assert!(matches!(m.finish(&a.digests), ArtifactOutcome::Corrupt(_)));
    }

    #[test]
    fn meter_requires_every_listed_digest_and_names_each_failure() {
        let data = b"one pass, two hashes";
        let sha256 = Expected::Sha256(Sha256::digest(data).into());
        let sha512 = Expected::Sha512(Sha512::digest(data).into());
        let wrong512 = Expected::Sha512([0; 64]);
        let wrong256 = Expected::Sha256([0; 32]);
        let judge = |digests: Vec<Expected>, bytes: &[u8]| {
            let a = Artifact {
                digests,
                ..artifact(data)
            };
            let mut m = Meter::new(&a, true);
            for chunk in bytes.chunks(7) {
                m.feed(chunk);
            }
            m.finish(&a.digests)
        };
        assert_eq!(
            judge(vec![sha256.clone(), sha512.clone()], data),
            ArtifactOutcome::Ok
        );
        assert_eq!(
            judge(vec![sha256.clone(), wrong512.clone()], data),
            ArtifactOutcome::Corrupt("sha512 does not match the signed release".into())
        );
        assert_eq!(
            judge(vec![wrong256, sha512.clone()], data),
            ArtifactOutcome::Corrupt("sha256 does not match the signed release".into())
        );
        assert_eq!(
            judge(vec![sha256, sha512], b"one pass, two hashez"),
            ArtifactOutcome::Corrupt("sha256 and sha512 do not match the signed release".into())
        );
        // Nothing listed is never a match.
        assert!(matches!(judge(vec![], data), ArtifactOutcome::Corrupt(_)));
    }

    /// Local files listing both digests hash sha512 on a second thread; the verdicts must
    /// be exactly those of one thread, over a file that needs every buffer many times.
    #[test]
    fn a_local_file_with_both_digests_is_judged_as_on_one_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(FILE_CHUNK * 7 + 123))
            .map(|i| (i * 31) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let both = |sha256: [u8; 32], sha512: [u8; 64], length: usize| Artifact {
            name: "f".into(),
            length: length as u64,
            length_signed: true,
            digests: vec![Expected::Sha256(sha256), Expected::Sha512(sha512)],
        };
        let (h256, h512): ([u8; 32], [u8; 64]) =
            (Sha256::digest(&data).into(), Sha512::digest(&data).into());
        let check = |a: &Artifact| check_local(&path, a, ArtifactMode::Full);
        assert_eq!(check(&both(h256, h512, data.len())), ArtifactOutcome::Ok);
        assert_eq!(
            check(&both(h256, [7; 64], data.len())),
            ArtifactOutcome::Corrupt("sha512 does not match the signed release".into())
        );
        assert_eq!(
            check(&both([7; 32], h512, data.len())),
            ArtifactOutcome::Corrupt("sha256 does not match the signed release".into())
        );
        assert_eq!(
            check(&both(h256, h512, data.len() - 1)),
            ArtifactOutcome::Corrupt(format!("longer than the signed {} bytes", data.len() - 1))
        );
        assert_eq!(
            check(&both(h256, h512, data.len() + 1)),
            ArtifactOutcome::Corrupt(format!(
                "{} bytes where {} were signed",
                data.len(),
                data.len() + 1
            ))
        );
    }

    #[test]
    fn one_listed_digest_runs_one_hasher() {
        let a = artifact(b"x");
        let m = Meter::new(&a, true);
        assert!(m.sha256.is_some() && m.sha512.is_none());
        let m = Meter::new(&a, false);
        assert!(m.sha256.is_none() && m.sha512.is_none());
    }

    fn mirror(url: &str, proxy: Option<&str>) -> Mirror {
        Mirror::new(url, "FR", None, proxy.map(str::to_owned), Path::new("/")).unwrap()
    }

    #[test]
    fn a_host_is_its_scheme_name_and_port_per_vantage() {
        let key = |url, proxy| HostKey::of(&mirror(url, proxy));
        assert_eq!(
            key("http://h.example/a/", None),
            key("http://h.example:80/b/", None)
        );
        assert_ne!(
            key("http://h.example/", None),
            key("https://h.example/", None)
        );
        assert_ne!(
            key("http://h.example/", None),
            key("http://h.example:8080/", None)
        );
        assert_ne!(
            key("http://h.example/", None),
            key("http://h.example/", Some("socks5h://127.0.0.1:9050"))
        );
        assert_eq!(HostKey::of(&mirror("/srv/mirror", None)), None);
        let f = Fetcher::new(
            FetchConfig::default(),
            &[
                mirror("http://h.example/a/", None),
                mirror("http://h.example/b/", None),
                mirror("http://h.example/c/", Some("http://127.0.0.1:3128")),
            ],
        )
        .unwrap();
        assert_eq!(f.hosts.len(), 2);
    }

    #[test]
    fn metadata_slots_follow_the_open_file_limit() {
        // The usual soft default: what is left after the headroom and the transfers.
        assert_eq!(metadata_slots(64, 1024), 1024 - 256 - 64);
        // A generous limit: 16 per transfer slot.
        assert_eq!(metadata_slots(64, 1 << 20), 1024);
        // Never fewer than --concurrency, even when the limit is tiny.
        assert_eq!(metadata_slots(64, 100), 64);
        assert_eq!(metadata_slots(1, u64::MAX), 16);
        assert!(raise_fd_limit() >= 1);
    }

    #[test]
    fn body_budget_shares_are_bounded() {
        assert_eq!(budget_kib(0), 1);
        assert_eq!(budget_kib(1024), 1);
        assert_eq!(budget_kib(1025), 2);
        assert_eq!(budget_kib(1 << 20), 1024);
        assert_eq!(budget_kib(u64::MAX), BODY_BUDGET_KIB);
    }

    #[test]
    fn urls_are_percent_encoded_per_segment() {
        let base = reqwest::Url::parse("http://h/mirror/").unwrap();
        assert_eq!(
            join_url(&base, "artifacts/a b#?.zip").as_str(),
            "http://h/mirror/artifacts/a%20b%23%3F.zip"
        );
    }
}

#[cfg(test)]
mod limited_tests {
    use super::*;
    use crate::profile::{Location, Mirror};

    /// A scheme's own bound holds below the metadata limit, and the metadata limit above it.
    #[test]
    fn a_limited_metadata_read_stops_at_the_smaller_bound() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("timestamp.json"), vec![b' '; 20_000]).unwrap();
        let mirror = Mirror {
            url: dir.path().display().to_string(),
            location: Location::Dir(dir.path().to_path_buf()),
            country: "ZZ".into(),
            name: None,
            proxy: None,
            vantage: None,
            address: None,
            route: Default::default(),
            artifacts_claim: None,
        };
        let fetcher = Fetcher::new(FetchConfig::default(), std::slice::from_ref(&mirror)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let whole = fetcher.get_metadata(&mirror, "timestamp.json").await;
            assert_eq!(whole.unwrap().len(), 20_000);
            let held = fetcher
                .get_metadata_limited(&mirror, "timestamp.json", 16_384)
                .await;
            assert!(
                matches!(held, Err(FetchError::TooLarge(16_384))),
                "{held:?}"
            );
            let above = fetcher
                .get_metadata_limited(&mirror, "timestamp.json", u64::MAX)
                .await;
            assert_eq!(above.unwrap().len(), 20_000);
        });
    }
}
