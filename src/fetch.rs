//! Getting bytes from mirrors, with every limit enforced here so that no caller can forget
//! one: a deadline that covers connect and the whole body, a size cap checked before and
//! while reading, at most `length + 1` artifact bytes, bounded concurrency, no decompression.
//!
//! Nothing here decides a verdict; it only reports what bytes (or what failure) a mirror gave.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256, Sha512};
use tokio::sync::Semaphore;

use crate::profile::{Location, Mirror};
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
    #[error("{0}")]
    Io(String),
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
    proxied: HashMap<String, reqwest::Client>,
    /// Artifact and image transfers: `--concurrency`.
    permits: Arc<Semaphore>,
    /// Metadata requests, which are small: a larger bound, so that mirrors that never
    /// answer (each holding a slot for a whole timeout) cannot queue the others behind
    /// them. A sweep then takes about one timeout however many mirrors are dead.
    meta_permits: Arc<Semaphore>,
}

/// Metadata requests in flight per allowed artifact transfer (see `Fetcher::meta_permits`).
const METADATA_SLOTS_PER_SLOT: usize = 4;
/// More sockets than this at once only exhausts file descriptors.
const MAX_METADATA_SLOTS: usize = 4096;

impl Fetcher {
    /// Builds one HTTP client per distinct proxy up front, so mirrors share connection pools.
    pub fn new(config: FetchConfig, mirrors: &[Mirror]) -> Result<Fetcher, FetchError> {
        let default_client = build_client(&config, None)?;
        let mut proxied = HashMap::new();
        for p in mirrors.iter().filter_map(|m| m.proxy.as_ref()) {
            if !proxied.contains_key(p) {
                proxied.insert(p.clone(), build_client(&config, Some(p))?);
            }
        }
        let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
        let meta_permits = Arc::new(Semaphore::new(
            config
                .concurrency
                .saturating_mul(METADATA_SLOTS_PER_SLOT)
                .clamp(
                    config.concurrency.max(1),
                    MAX_METADATA_SLOTS.max(config.concurrency),
                ),
        ));
        Ok(Fetcher {
            config,
            default_client,
            proxied,
            permits,
            meta_permits,
        })
    }

    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    fn client(&self, mirror: &Mirror) -> &reqwest::Client {
        mirror
            .proxy
            .as_ref()
            .and_then(|p| self.proxied.get(p))
            .unwrap_or(&self.default_client)
    }

    /// Fetches a metadata file (at most `max_metadata_bytes`) from a mirror.
    pub async fn get_metadata(&self, mirror: &Mirror, rel: &str) -> Result<Vec<u8>, FetchError> {
        let limit = self.config.max_metadata_bytes;
        let _permit = self.meta_permits.acquire().await.map_err(|_| closed())?;
        match &mirror.location {
            Location::Dir(dir) => {
                let path = local_path(dir, rel);
                let timeout = self.config.timeout;
                blocking(timeout, move || {
                    crate::fsutil::read_limited(&path, limit).map_err(|e| io_error(&e, limit))
                })
                .await
            }
            Location::Http(base) => {
                let url = join_url(base, rel);
                let client = self.client(mirror).clone();
                let timeout = self.config.timeout;
                deadline(timeout, async move {
                    let mut resp = send(&client, reqwest::Method::GET, url).await?;
                    if resp.content_length().is_some_and(|n| n > limit) {
                        return Err(FetchError::TooLarge(limit));
                    }
                    let mut body = Vec::new();
                    while let Some(chunk) = resp.chunk().await.map_err(net)? {
                        if (body.len() + chunk.len()) as u64 > limit {
                            return Err(FetchError::TooLarge(limit));
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(body)
                })
                .await
            }
        }
    }

    /// Checks one artifact on one mirror, reading at most `length + 1` bytes per pass. A
    /// second pass happens only when the first listed hash did not match and the release
    /// lists another one (the format accepts any one matching hash).
    pub async fn check_artifact(
        &self,
        mirror: &Mirror,
        rel: &str,
        artifact: &Artifact,
        mode: ArtifactMode,
    ) -> ArtifactOutcome {
        let first = self.check_once(mirror, rel, artifact, mode).await;
        if let (ArtifactOutcome::Corrupt(_), ArtifactMode::Full, Some(other)) =
            (&first, mode, artifact.by_fallback())
            && self.check_once(mirror, rel, &other, mode).await == ArtifactOutcome::Ok
        {
            return ArtifactOutcome::Ok;
        }
        first
    }

    async fn check_once(
        &self,
        mirror: &Mirror,
        rel: &str,
        artifact: &Artifact,
        mode: ArtifactMode,
    ) -> ArtifactOutcome {
        if mode == ArtifactMode::None {
            return ArtifactOutcome::Skipped;
        }
        let Ok(_permit) = self.permits.acquire().await else {
            return ArtifactOutcome::Error("shutting down".into());
        };
        let timeout = self.config.artifact_timeout;
        let result = match &mirror.location {
            Location::Dir(dir) => {
                let path = local_path(dir, rel);
                let artifact = artifact.clone();
                blocking(timeout, move || Ok(check_local(&path, &artifact, mode))).await
            }
            Location::Http(base) => {
                let url = join_url(base, rel);
                let client = self.client(mirror).clone();
                let artifact = artifact.clone();
                deadline(timeout, check_http(client, url, artifact, mode)).await
            }
        };
        match result {
            Ok(outcome) => outcome,
            Err(FetchError::NotFound(_)) => ArtifactOutcome::Missing,
            Err(e @ FetchError::Timeout(_)) => ArtifactOutcome::TimedOut(e.to_string()),
            Err(e) => ArtifactOutcome::Error(e.to_string()),
        }
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
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        let timeout = self.config.artifact_timeout;
        match &mirror.location {
            Location::Dir(dir) => {
                let path = local_path(dir, rel);
                blocking(timeout, move || digest_local(&path, cap, prehash)).await
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
        }
    }
}

/// [`Fetcher::digest`] for a local file (and for `verify --key/--sig` on downloads).
pub fn digest_local(path: &Path, cap: u64, prehash: Prehash) -> Result<Vec<u8>, FetchError> {
    let mut hasher = Prehasher::new(prehash)
        .ok_or_else(|| FetchError::Io("no digest to stream through".into()))?;
    let file = std::fs::File::open(path).map_err(|e| io_error(&e, cap))?;
    crate::stream::read_ahead(file, cap, FILE_CHUNK, |c| hasher.update(c)).map_err(
        |e| match e {
            crate::stream::StreamError::TooLarge(_) => FetchError::TooLarge(cap),
            crate::stream::StreamError::Io(e) => FetchError::Io(e.to_string()),
        },
    )?;
    Ok(hasher.finish())
}

fn closed() -> FetchError {
    FetchError::Io("fetcher closed".into())
}

fn build_client(config: &FetchConfig, proxy: Option<&str>) -> Result<reqwest::Client, FetchError> {
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
        let proxy =
            reqwest::Proxy::all(p).map_err(|e| FetchError::Network(format!("proxy {p}: {e}")))?;
        b = b.proxy(proxy);
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
    if e.is_timeout() {
        return FetchError::Network(format!("timed out: {}", error_chain(&e)));
    }
    FetchError::Network(error_chain(&e))
}

/// reqwest's top-level message hides the cause (e.g. the TLS reason); users need it.
fn error_chain(e: &dyn std::error::Error) -> String {
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
    crate::envelope::one_line(&s)
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

fn local_path(dir: &Path, rel: &str) -> PathBuf {
    let mut p = dir.to_path_buf();
    for s in rel.split('/') {
        p.push(s);
    }
    p
}

/// Streams a digest over chunks and counts bytes, stopping at `length + 1`.
struct Meter {
    hasher: Option<Hasher>,
    length: u64,
    /// False when `length` is only a cap (checksum lists sign no length).
    exact: bool,
    seen: u64,
}

enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Meter {
    fn new(artifact: &Artifact, hash: bool) -> Meter {
        let hasher = hash.then(|| match artifact.expected {
            Expected::Sha256(_) => Hasher::Sha256(Sha256::new()),
            Expected::Sha512(_) => Hasher::Sha512(Sha512::new()),
        });
        Meter {
            hasher,
            length: artifact.length,
            exact: artifact.length_signed,
            seen: 0,
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
        match &mut self.hasher {
            Some(Hasher::Sha256(h)) => h.update(take),
            Some(Hasher::Sha512(h)) => h.update(take),
            None => {}
        }
        true
    }

    fn finish(self, expected: &Expected) -> ArtifactOutcome {
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
        let matches = match (self.hasher, expected) {
            (None, _) => true,
            (Some(Hasher::Sha256(h)), Expected::Sha256(want)) => h.finalize().as_slice() == want,
            (Some(Hasher::Sha512(h)), Expected::Sha512(want)) => h.finalize().as_slice() == want,
            _ => false,
        };
        if matches {
            ArtifactOutcome::Ok
        } else {
            let which = match expected {
                Expected::Sha256(_) => "sha256",
                Expected::Sha512(_) => "sha512",
            };
            ArtifactOutcome::Corrupt(format!("{which} does not match the signed release"))
        }
    }
}

/// Checks a local file by every listed hash in turn until one matches (users' downloads).
pub fn check_local_any(path: &Path, artifact: &Artifact) -> ArtifactOutcome {
    let first = check_local(path, artifact, ArtifactMode::Full);
    if let (ArtifactOutcome::Corrupt(_), Some(other)) = (&first, artifact.by_fallback())
        && check_local(path, &other, ArtifactMode::Full) == ArtifactOutcome::Ok
    {
        return ArtifactOutcome::Ok;
    }
    first
}

/// Hashes a local file in constant memory through the artifact's first listed hash.
pub fn check_local(path: &Path, artifact: &Artifact, mode: ArtifactMode) -> ArtifactOutcome {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ArtifactOutcome::Missing,
        Err(e) => return ArtifactOutcome::Error(e.to_string()),
    };
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
    let mut buf = vec![0u8; FILE_CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if !meter.feed(&buf[..n]) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return ArtifactOutcome::Error(e.to_string()),
        }
    }
    meter.finish(&artifact.expected)
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
    Ok(meter.finish(&artifact.expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(data: &[u8]) -> Artifact {
        Artifact {
            name: "a".into(),
            length: data.len() as u64,
            length_signed: true,
            expected: Expected::Sha256(Sha256::digest(data).into()),
            fallback: None,
        }
    }

    #[test]
    fn meter_judges_length_and_hash() {
        let a = artifact(b"hello world");
        let mut m = Meter::new(&a, true);
        assert!(m.feed(b"hello "));
        assert!(m.feed(b"world"));
        assert_eq!(m.finish(&a.expected), ArtifactOutcome::Ok);

        let mut m = Meter::new(&a, true);
        assert!(!m.feed(b"hello world!!"));
        assert!(matches!(m.finish(&a.expected), ArtifactOutcome::Corrupt(_)));

        let mut m = Meter::new(&a, true);
        m.feed(b"hello");
        assert!(matches!(m.finish(&a.expected), ArtifactOutcome::Corrupt(_)));

        let mut m = Meter::new(&a, true);
        m.feed(b"hellO world");
        assert!(matches!(m.finish(&a.expected), ArtifactOutcome::Corrupt(_)));
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
