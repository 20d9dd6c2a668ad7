//! Getting a repository's bytes: one small seam, so that the client is the same code over
//! HTTP (through [`Fetcher`], with its deadlines and size limits), local files, or
//! anything else a caller plugs in.

use std::future::Future;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::fetch::{FetchError, Fetcher};

/// Why bytes could not be had. `Missing` is the one answer the workflow reads as
/// information (no newer root exists), so it is kept apart from every other failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// 404 or 403 (what the specification tells clients to stop the root walk on), 410,
    /// or a missing local file.
    #[error("not found{}", .0.map(|c| format!(" (HTTP status {c})")).unwrap_or_default())]
    Missing(Option<u16>),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("over the size limit of {0} bytes")]
    TooLarge(u64),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Network(String),
    #[error("{0}")]
    Local(String),
    /// The sink a streamed body was written to failed (a full disk): the repository is
    /// not to blame.
    #[error("storing what was fetched: {0}")]
    Sink(String),
}

/// Where a client gets bytes. Every call is bounded: at most `max_bytes` are read (more
/// is [`SourceError::TooLarge`]), and the implementation puts a deadline on the whole
/// request.
pub trait Source: Sync {
    fn get(
        &self,
        url: &Url,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Vec<u8>, SourceError>> + Send;

    /// [`Source::get`] into `sink` instead of memory, for targets, which may be larger
    /// than a client should hold: at most `max_bytes` reach the sink (more is
    /// [`SourceError::TooLarge`]), and the sink comes back once the whole body is in it.
    /// On any error what the sink holds is unverified and partial.
    ///
    /// The default holds the body in memory once, then writes it: every source works,
    /// and those that can stream (as [`FetcherSource`] does) say so by overriding it.
    fn get_into<W: Write + Send + 'static>(
        &self,
        url: &Url,
        max_bytes: u64,
        mut sink: W,
    ) -> impl Future<Output = Result<W, SourceError>> + Send {
        async move {
            let bytes = self.get(url, max_bytes).await?;
            sink.write_all(&bytes)
                .and_then(|()| sink.flush())
                .map_err(|e| SourceError::Sink(e.to_string()))?;
            Ok(sink)
        }
    }
}

/// [`Source`] over the crate's [`Fetcher`]: HTTP(S) with its deadline covering connect
/// and body, its body budget and size checks; `file:` URLs read from disk with the same
/// size limit.
#[derive(Clone)]
pub struct FetcherSource {
    fetcher: Arc<Fetcher>,
}

impl FetcherSource {
    pub fn new(fetcher: Arc<Fetcher>) -> FetcherSource {
        FetcherSource { fetcher }
    }
}

impl Source for FetcherSource {
    async fn get(&self, url: &Url, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|()| SourceError::Local("not a local path".into()))?;
            let timeout = self.fetcher.config().timeout;
            let read =
                tokio::task::spawn_blocking(move || crate::fsutil::read_limited(&path, max_bytes));
            return match tokio::time::timeout(timeout, read).await {
                Err(_) => Err(SourceError::Timeout(timeout)),
                Ok(Err(e)) => Err(SourceError::Local(e.to_string())),
                Ok(Ok(Ok(bytes))) => Ok(bytes),
                Ok(Ok(Err(e))) => Err(match e.kind() {
                    std::io::ErrorKind::NotFound => SourceError::Missing(None),
                    std::io::ErrorKind::InvalidData => SourceError::TooLarge(max_bytes),
                    _ => SourceError::Local(e.to_string()),
                }),
            };
        }
        match self.fetcher.get_url(None, url.clone(), max_bytes).await {
            Ok(body) => Ok(body.to_vec()),
            Err(e) => Err(from_fetch(e)),
        }
    }

    /// Streams: the body goes through the sink as it arrives (see
    /// [`Fetcher::stream_url`]), in constant memory, under the artifact deadline.
    async fn get_into<W: Write + Send + 'static>(
        &self,
        url: &Url,
        max_bytes: u64,
        sink: W,
    ) -> Result<W, SourceError> {
        if url.scheme() == "file" {
            return self.file_into(url, max_bytes, sink).await;
        }
        match self.fetcher.stream_url(url.clone(), max_bytes, sink).await {
            Ok(Ok(sink)) => Ok(sink),
            Ok(Err(e)) => Err(SourceError::Sink(e.to_string())),
            Err(e) => Err(from_fetch(e)),
        }
    }
}

/// How a fetch failure reads to the TUF client (403 and 404 both end a root walk).
pub(crate) fn from_fetch(e: FetchError) -> SourceError {
    match e {
        FetchError::NotFound(code) => SourceError::Missing(code),
        FetchError::Status(403) => SourceError::Missing(Some(403)),
        FetchError::Status(c) => SourceError::Status(c),
        FetchError::TooLarge(n) => SourceError::TooLarge(n),
        FetchError::Timeout(d) => SourceError::Timeout(d),
        other => SourceError::Network(other.to_string()),
    }
}

impl FetcherSource {
    /// [`Source::get_into`] for a `file:` URL: read and written a chunk at a time on a
    /// blocking thread, at most `max_bytes + 1` bytes read, under the artifact deadline.
    async fn file_into<W: Write + Send + 'static>(
        &self,
        url: &Url,
        max_bytes: u64,
        sink: W,
    ) -> Result<W, SourceError> {
        let path = url
            .to_file_path()
            .map_err(|()| SourceError::Local("not a local path".into()))?;
        let timeout = self.fetcher.config().artifact_timeout;
        let copy = tokio::task::spawn_blocking(move || copy_limited(&path, max_bytes, sink));
        match tokio::time::timeout(timeout, copy).await {
            Err(_) => Err(SourceError::Timeout(timeout)),
            Ok(Err(e)) => Err(SourceError::Local(e.to_string())),
            Ok(Ok(result)) => result,
        }
    }
}

/// Local reads for [`FetcherSource::file_into`].
const FILE_CHUNK: usize = 256 * 1024;

fn copy_limited<W: Write>(
    path: &std::path::Path,
    max_bytes: u64,
    mut sink: W,
) -> Result<W, SourceError> {
    let local = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::Missing(None),
        _ => SourceError::Local(e.to_string()),
    };
    let mut file = std::fs::File::open(path)
        .map_err(local)?
        .take(max_bytes.saturating_add(1));
    let mut buf = vec![0u8; FILE_CHUNK];
    let mut seen = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(local(e)),
        };
        seen = seen.saturating_add(n as u64);
        if seen > max_bytes {
            return Err(SourceError::TooLarge(max_bytes));
        }
        sink.write_all(buf.get(..n).unwrap_or_default())
            .map_err(|e| SourceError::Sink(e.to_string()))?;
    }
    sink.flush().map_err(|e| SourceError::Sink(e.to_string()))?;
    Ok(sink)
}

/// Python's `urllib.parse.quote(s, safe="")`: every byte but ASCII letters, digits and
/// `_.-~` percent-encoded. python-tuf names metadata files and target files this way, and
/// the conformance suite checks the exact request path.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base` with a trailing slash, so that names are appended below it.
pub fn dir_url(base: &Url) -> Url {
    let mut u = base.clone();
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u
}

fn join(base: &Url, tail: &str) -> Result<Url, String> {
    Url::parse(&format!("{}{tail}", dir_url(base).as_str())).map_err(|e| e.to_string())
}

/// `BASE/ROLE.json` or `BASE/VERSION.ROLE.json`, the role name quoted.
pub fn metadata_url(base: &Url, role: &str, version: Option<u64>) -> Result<Url, String> {
    match version {
        Some(v) => join(base, &format!("{v}.{}.json", quote(role))),
        None => join(base, &format!("{}.json", quote(role))),
    }
}

/// `BASE/PATH`, or `BASE/DIR/HASH.NAME` with a hash prefix, each segment quoted. A path
/// with a `.` or `..` segment is refused: URL parsing would resolve it, fetching some
/// other file than the one named (the hashes would catch it, but a client should not
/// ask a server for what it does not mean).
pub fn target_url(base: &Url, path: &str, hash: Option<&str>) -> Result<Url, &'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    if segs.iter().any(|s| *s == "." || *s == "..") {
        return Err("it has a . or .. segment");
    }
    let last = segs.len() - 1;
    let tail: Vec<String> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| match hash {
            Some(h) if i == last => format!("{}.{}", quote(h), quote(s)),
            _ => quote(s),
        })
        .collect();
    join(base, &tail.join("/")).map_err(|_| "it does not make a URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_is_pythons() {
        assert_eq!(quote("targets"), "targets");
        assert_eq!(quote("?"), "%3F");
        assert_eq!(quote("#"), "%23");
        assert_eq!(quote("/delegatedrole"), "%2Fdelegatedrole");
        assert_eq!(quote("../delegatedrole"), "..%2Fdelegatedrole");
        assert_eq!(quote("a b~é"), "a%20b~%C3%A9");
    }

    #[test]
    fn urls_keep_the_base_as_given() {
        let base = Url::parse("http://h:1/test%5Bx%5D/metadata").unwrap();
        assert_eq!(
            metadata_url(&base, "root", Some(2)).unwrap().as_str(),
            "http://h:1/test%5Bx%5D/metadata/2.root.json"
        );
        assert_eq!(
            metadata_url(&base, "?", None).unwrap().as_str(),
            "http://h:1/test%5Bx%5D/metadata/%3F.json"
        );
        let t = Url::parse("http://h/targets/").unwrap();
        assert_eq!(
            target_url(&t, "a/b c.txt", Some("abcd")).unwrap().as_str(),
            "http://h/targets/a/abcd.b%20c.txt"
        );
        assert_eq!(
            target_url(&t, "x?y#z", None).unwrap().as_str(),
            "http://h/targets/x%3Fy%23z"
        );
        assert!(target_url(&t, "../etc/passwd", None).is_err());
        assert!(target_url(&t, "a/./b", None).is_err());
    }
}
