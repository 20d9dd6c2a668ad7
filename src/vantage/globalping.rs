//! Globalping vantages (`globalping:CC`): release documents fetched by a probe that sits in a
//! home or office network of country CC, through Globalping's public measurement API
//! (<https://globalping.io>, schema: `public/v1/spec.yaml` in `jsdelivr/globalping`).
//!
//! What such an observation is worth: the bytes were seen by a third party's probe, and
//! reported to us by the Globalping API, not fetched first hand. They are still verified
//! here against the pinned keys, so a probe or an API that lies can make a document look
//! absent or bad from that place, never make a forged one pass. The probe's own report of
//! where it is (country, city, network) is what [`ProbeAnswer::probe`] carries: it may
//! differ from the country asked for, and the caller labels the observation with it.
//!
//! What it cannot do: an HTTP measurement returns at most the first 10,000 characters of a
//! body, so artifacts (and any document larger than that) are out of its reach; probes do
//! not follow redirects (a 3xx comes back as it is, with its `Location`, and the vantage
//! follows it with another measurement, as a user's client would) and do not check TLS
//! certificates (`rejectUnauthorized: false` in the probe), which costs nothing here
//! because every byte is checked against signatures, but means an `https` observation
//! says nothing about the mirror's certificate.
//!
//! The protocol, as published: `POST /v1/measurements` with a measurement of type `http`
//! and one location `{country}`, `limit` 1; the answer (202) carries the measurement `id`;
//! then `GET /v1/measurements/{id}` until its `status` is no longer `in-progress`, waiting
//! 500 ms after each answer as the API's client guidelines ask. Authentication is optional
//! (`Authorization: Bearer TOKEN` raises the rate limits).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::text;

/// The public API's base URL.
pub const DEFAULT_API: &str = "https://api.globalping.io";

/// The most a probe returns of a body: its `DOWNLOAD_LIMIT` (the schema's "only the first
/// 10 kb are returned"). The probe counts UTF-16 code units of the text it decoded, which
/// for an ASCII document (every JSON release document we sign) is its length in bytes.
pub const MAX_BODY: u64 = 10_000;

/// The most read of one API answer. A finished one-probe HTTP measurement is a few tens of
/// KiB (the body, the raw output that repeats it, headers, TLS details); an API that sends
/// more is not the published one, and must not be able to fill memory.
pub const MAX_API_ANSWER: u64 = 1024 * 1024;

/// The wait after each `in-progress` answer, from the API's client guidelines ("wait 500 ms
/// after receiving the response"; more than two requests a second per measurement is
/// rate-limited).
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Longest piece of API-supplied text (an error message, a probe's failure, its city or
/// network name) kept: enough to read, not enough to drown a report.
const MAX_TEXT_CHARS: usize = 300;

/// Longest measurement id accepted (the API's are 16 to 32 characters).
const MAX_ID_CHARS: usize = 128;

/// A client of the Globalping API. Cheap to clone; one per run is enough.
#[derive(Clone)]
pub struct Globalping {
    api: Url,
    token: Option<String>,
    client: reqwest::Client,
}

/// The token stays out of logs and panics.
impl fmt::Debug for Globalping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Globalping")
            .field("api", &self.api.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// What one probe got for one GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// The HTTP status the mirror answered the probe (redirects are not followed).
    pub status: u16,
    /// For a redirect (3xx), the `Location` the mirror answered, as sent: resolved against
    /// the URL asked and followed by the caller, as this machine's own client would.
    pub location: Option<String>,
    /// The body as the probe reported it: the UTF-8 encoding of the API's `rawBody` string.
    ///
    /// `rawBody` is a JSON string, not bytes: the probe decodes what it received as UTF-8
    /// (each network chunk on its own) and replaces every invalid sequence with U+FFFD. A
    /// text document comes back byte for byte; a binary one (or one cut inside a
    /// character at a chunk boundary) cannot, which is why a body holding U+FFFD is
    /// refused ([`GlobalpingError::NotByteForByte`]) rather than handed to a verifier that
    /// would blame the mirror for the probe's decoding.
    pub body: Vec<u8>,
    /// Where the probe says it is.
    pub probe: Probe,
}

/// A probe's own account of its location, as the API reports it (`results[].probe`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Probe {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// Third-party text, shown through [`text::shown`] and bounded.
    pub city: Option<String>,
    pub asn: Option<u64>,
    /// Third-party text, shown through [`text::shown`] and bounded.
    pub network: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GlobalpingError {
    /// Nothing was sent: the URL is not one a probe can fetch, or would leak credentials.
    #[error("Globalping cannot fetch {0}")]
    UnsupportedUrl(String),
    #[error("{0:?} is not a country code (Globalping locations are ISO 3166-1 alpha-2)")]
    BadCountry(String),
    #[error("the Globalping API URL {0} cannot take a path")]
    BadApiUrl(String),
    #[error("the Globalping token cannot be sent in an HTTP header")]
    BadToken,
    /// The probe cut the body: the document is larger than what Globalping returns. This
    /// says nothing about the mirror; it cannot be checked through Globalping.
    #[error(
        "the document is larger than Globalping returns (its probes keep the first {MAX_BODY} characters), so it cannot be checked through Globalping; the mirror is not at fault"
    )]
    LargerThanGlobalping,
    /// Complete, but over the caller's own limit, as a direct fetch would have found.
    #[error("over the size limit of {0} bytes")]
    TooLarge(u64),
    /// The probe's text is not the document's bytes (see [`ProbeAnswer::body`]).
    #[error(
        "the probe's copy holds U+FFFD: the document is not UTF-8 text, or the probe cut it inside a character, so Globalping cannot carry it byte for byte; the mirror is not at fault"
    )]
    NotByteForByte,
    #[error("Globalping has no probe in {country} right now: {message}")]
    NoProbe { country: String, message: String },
    #[error(
        "Globalping rate limit reached (HTTP 429{}): {message}; a token raises the limit",
        .retry_after_secs.map(|s| format!(", retry in {s} s")).unwrap_or_default()
    )]
    RateLimited {
        message: String,
        retry_after_secs: Option<u64>,
    },
    #[error("the Globalping API answered HTTP {status}: {message}")]
    Api { status: u16, message: String },
    #[error("the Globalping API answer is larger than {0} bytes")]
    AnswerTooLarge(u64),
    #[error("the Globalping API answer does not follow its schema: {0}")]
    Malformed(String),
    /// The whole operation (create, every poll, the result) ran out of time.
    #[error("Globalping gave no result within {after:?} ({during})")]
    Timeout { after: Duration, during: String },
    /// The probe ran the GET and could not get an answer from the mirror (refused,
    /// reset, its own 10 s timeout): what the mirror looks like from that place.
    #[error("the Globalping probe in {country} could not fetch it: {reason}")]
    ProbeFailed { country: String, reason: String },
    /// The probe picked in that country disconnected before running the test.
    #[error("the Globalping probe picked in {0} went offline before running the test")]
    ProbeOffline(String),
    #[error("cannot reach the Globalping API: {0}")]
    Network(String),
}

impl GlobalpingError {
    /// True when the failure is Globalping's (or this machine's way to it) and says nothing
    /// about the mirror: such an observation must not count against the mirror, only
    /// against the vantage. False for the two that are the mirror's doing: a probe that
    /// could not reach it, and a complete document over the caller's limit.
    pub fn is_vantage_fault(&self) -> bool {
        !matches!(
            self,
            GlobalpingError::ProbeFailed { .. } | GlobalpingError::TooLarge(_)
        )
    }

    /// True when every other request of the run would fail the same way: the API's rate
    /// limit, no probe in the country, a token or an API URL it cannot use, an API that
    /// does not answer (refused, or silent while a measurement is created) or does not
    /// speak the published schema, its own failure (5xx) or refusal (401, 403). A
    /// vantage then stops asking: each of those requests would only spend the API's
    /// credit or a whole deadline, for every document of the run.
    pub fn repeats(&self) -> bool {
        match self {
            GlobalpingError::RateLimited { .. }
            | GlobalpingError::NoProbe { .. }
            | GlobalpingError::BadCountry(_)
            | GlobalpingError::BadApiUrl(_)
            | GlobalpingError::BadToken
            | GlobalpingError::AnswerTooLarge(_)
            | GlobalpingError::Malformed(_)
            | GlobalpingError::Network(_) => true,
            GlobalpingError::Api { status, .. } => matches!(status, 401 | 403 | 500..),
            // A measurement that was created and is slow is the probe's; an API silent
            // when asked to create one is the API's.
            GlobalpingError::Timeout { during, .. } => during == CREATING,
            GlobalpingError::UnsupportedUrl(_)
            | GlobalpingError::LargerThanGlobalping
            | GlobalpingError::TooLarge(_)
            | GlobalpingError::NotByteForByte
            | GlobalpingError::ProbeFailed { .. }
            | GlobalpingError::ProbeOffline(_) => false,
        }
    }
}

/// What a deadline that ends a measurement before the API created it says it was doing.
const CREATING: &str = "creating the measurement";

impl Globalping {
    /// `api` is the API's base URL ([`DEFAULT_API`], or a test server); the paths
    /// `/v1/measurements...` are appended to its path. `client` carries the caller's proxy
    /// and TLS settings; its own timeouts are left alone, [`Globalping::get`] sets one
    /// deadline over everything.
    pub fn new(api: Url, token: Option<String>, client: reqwest::Client) -> Globalping {
        Globalping { api, token, client }
    }

    /// One GET of `url` by one probe in `country`, within `timeout` (covering the POST, every
    /// poll and the result), body at most `limit` bytes and never more than the API's 10 KB.
    pub async fn get(
        &self,
        url: &Url,
        country: &str,
        limit: u64,
        timeout: Duration,
    ) -> Result<ProbeAnswer, GlobalpingError> {
        self.get_seen(url, country, limit, timeout).await.0
    }

    /// [`Globalping::get`], and the probe that ran the GET whenever one did, whatever came
    /// of it: a probe that could not reach the mirror, or got a document it could not carry,
    /// is an observation too, and a report must say whose.
    pub async fn get_seen(
        &self,
        url: &Url,
        country: &str,
        limit: u64,
        timeout: Duration,
    ) -> (Result<ProbeAnswer, GlobalpingError>, Option<Probe>) {
        let mut seen = None;
        let result = self.get_into(url, country, limit, timeout, &mut seen).await;
        (result, seen)
    }

    async fn get_into(
        &self,
        url: &Url,
        country: &str,
        limit: u64,
        timeout: Duration,
        seen: &mut Option<Probe>,
    ) -> Result<ProbeAnswer, GlobalpingError> {
        let country = country_code(country)?;
        let request = measurement_request(url, &country)?;
        let body = serde_json::to_vec(&request)
            .map_err(|e| GlobalpingError::Malformed(format!("cannot encode the request: {e}")))?;
        let create = self.endpoint(&[])?;
        let auth = self.authorization()?;
        let mut progress = Progress {
            during: CREATING.to_owned(),
            seen: None,
        };
        let run = self.run(create, auth, body, &country, limit, &mut progress);
        let outcome = tokio::time::timeout(timeout, run).await;
        *seen = progress.seen;
        match outcome {
            Ok(result) => result,
            Err(_) => Err(GlobalpingError::Timeout {
                after: timeout,
                during: progress.during,
            }),
        }
    }

    async fn run(
        &self,
        create: Url,
        auth: Option<HeaderValue>,
        body: Vec<u8>,
        country: &str,
        limit: u64,
        progress: &mut Progress,
    ) -> Result<ProbeAnswer, GlobalpingError> {
        let mut post = self
            .client
            .post(create)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(auth) = &auth {
            post = post.header(AUTHORIZATION, auth.clone());
        }
        let (status, headers, answer) = self.send(post).await?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), &headers, &answer, country));
        }
        let id = parse_created(&answer)?;
        let poll_url = self.endpoint(&[&id])?;
        let mut polls = 0u32;
        loop {
            progress.during = format!(
                "measurement {} still in progress after {polls} polls",
                text::shown(&id)
            );
            let mut get = self.client.get(poll_url.clone());
            if let Some(auth) = &auth {
                get = get.header(AUTHORIZATION, auth.clone());
            }
            let (status, headers, answer) = self.send(get).await?;
            polls += 1;
            if !status.is_success() {
                return Err(api_error(status.as_u16(), &headers, &answer, country));
            }
            match parse_measurement(&answer, &id)? {
                Poll::InProgress => tokio::time::sleep(POLL_INTERVAL).await,
                Poll::Done(result) => {
                    progress.seen = ran_the_get(&result);
                    return answer_from(*result, country, limit);
                }
            }
        }
    }

    /// Sends one request and reads its answer, at most [`MAX_API_ANSWER`] bytes of it.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>), GlobalpingError> {
        let mut resp = req
            .header(USER_AGENT, crate::fetch::USER_AGENT)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(network)?;
        if resp.content_length().is_some_and(|n| n > MAX_API_ANSWER) {
            return Err(GlobalpingError::AnswerTooLarge(MAX_API_ANSWER));
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(network)? {
            if (body.len() + chunk.len()) as u64 > MAX_API_ANSWER {
                return Err(GlobalpingError::AnswerTooLarge(MAX_API_ANSWER));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }

    /// `{api}/v1/measurements[/{id}]`, the id as one escaped path segment, so nothing in
    /// an API-supplied id can point the poll elsewhere.
    fn endpoint(&self, tail: &[&str]) -> Result<Url, GlobalpingError> {
        let mut url = self.api.clone();
        url.set_query(None);
        url.set_fragment(None);
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| GlobalpingError::BadApiUrl(text::shown(self.api.as_str()).into()))?;
            segments.pop_if_empty().extend(["v1", "measurements"]);
            segments.extend(tail);
        }
        Ok(url)
    }

    fn authorization(&self) -> Result<Option<HeaderValue>, GlobalpingError> {
        let Some(token) = &self.token else {
            return Ok(None);
        };
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| GlobalpingError::BadToken)?;
        value.set_sensitive(true);
        Ok(Some(value))
    }
}

/// How far one measurement got, kept outside its future so that a deadline that ends it
/// still says where it stood.
struct Progress {
    during: String,
    /// The probe that ran the GET, once the measurement says so.
    seen: Option<Probe>,
}

/// The location code as the API wants it: two ASCII letters, upper case, an assigned
/// ISO 3166-1 code (the API checks the same list), never `ZZ` ("unknown" in profiles).
fn country_code(country: &str) -> Result<String, GlobalpingError> {
    match crate::country::iso_code(country) {
        Some(code) if code != crate::profile::UNKNOWN_COUNTRY => Ok(code.to_owned()),
        _ => Err(GlobalpingError::BadCountry(text::shown(country).into())),
    }
}

/// The body of `POST /v1/measurements`, field names as in the published schema
/// (`MeasurementRequest`, `MeasurementHttpOptions`).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct MeasurementRequest {
    #[serde(rename = "type")]
    kind: &'static str,
    target: String,
    /// Results only when the test is done: no partial bodies to reassemble.
    in_progress_updates: bool,
    locations: Vec<Location>,
    /// One probe: the global limit (the schema makes it exclusive of per-location limits).
    limit: u32,
    measurement_options: HttpOptions,
}

#[derive(Debug, Serialize, PartialEq)]
struct Location {
    country: String,
}

#[derive(Debug, Serialize, PartialEq)]
struct HttpOptions {
    request: HttpRequest,
    /// `HTTP` or `HTTPS` (HTTP/1.1 over TLS); the schema's default is `HTTPS` with port
    /// 80, so both are always sent.
    protocol: &'static str,
    port: u16,
}

#[derive(Debug, Serialize, PartialEq)]
struct HttpRequest {
    /// The schema's default is `HEAD`.
    method: &'static str,
    /// Percent-encoded, as in the URL.
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    /// The URL's host name; the schema only allows a domain here, so for an IP literal it
    /// is left out and the probe sends the target, which is the same thing.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
}

fn measurement_request(url: &Url, country: &str) -> Result<MeasurementRequest, GlobalpingError> {
    let unsupported = |why: &str| {
        // Credentials stay out of messages too.
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        GlobalpingError::UnsupportedUrl(format!("{} ({why})", text::shown(shown.as_str())))
    };
    let protocol = match url.scheme() {
        "http" => "HTTP",
        "https" => "HTTPS",
        _ => return Err(unsupported("only http and https URLs")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(unsupported(
            "it carries credentials, which a third party's probe must not see",
        ));
    }
    let (target, host) = match url.host() {
        Some(Host::Domain(d)) => (d.to_owned(), Some(d.to_owned())),
        Some(Host::Ipv4(ip)) => (IpAddr::V4(ip).to_string(), None),
        Some(Host::Ipv6(ip)) => (IpAddr::V6(ip).to_string(), None),
        None => return Err(unsupported("no host")),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| unsupported("no port"))?;
    Ok(MeasurementRequest {
        kind: "http",
        target,
        in_progress_updates: false,
        locations: vec![Location {
            country: country.to_owned(),
        }],
        limit: 1,
        measurement_options: HttpOptions {
            request: HttpRequest {
                method: "GET",
                path: url.path().to_owned(),
                query: url.query().filter(|q| !q.is_empty()).map(str::to_owned),
                host,
            },
            protocol,
            port,
        },
    })
}

/// `CreateMeasurementResponse`: the id is all we need.
#[derive(Deserialize)]
struct Created {
    id: String,
}

fn parse_created(answer: &[u8]) -> Result<String, GlobalpingError> {
    let created: Created = serde_json::from_slice(answer).map_err(malformed)?;
    let id = created.id;
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(text::is_unsafe) {
        return Err(GlobalpingError::Malformed(format!(
            "measurement id {:?} is not a short printable string",
            text::shown(&truncated(&id))
        )));
    }
    Ok(id)
}

/// `MeasurementResponse`, the parts used. Unknown fields are ignored (the schema grows);
/// a repeated field is an error (serde refuses duplicates), so no two readings differ.
#[derive(Deserialize)]
struct Measurement {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: String,
    #[serde(default)]
    results: Vec<ResultItem>,
}

#[derive(Deserialize)]
struct ResultItem {
    probe: ProbeLocation,
    result: TestResult,
}

/// `ProbeLocation` (plus tags and resolvers, not used).
#[derive(Deserialize)]
struct ProbeLocation {
    country: String,
    city: Option<String>,
    asn: Option<u64>,
    network: Option<String>,
}

/// `TestResult` for `http`: `InProgressTestResult`, `FailedTestResult`,
/// `OfflineTestResult` or `FinishedHttpTestResult`, told apart by `status`.
#[derive(Deserialize)]
struct TestResult {
    status: String,
    #[serde(rename = "rawOutput")]
    raw_output: Option<String>,
    #[serde(rename = "rawBody")]
    raw_body: Option<String>,
    truncated: Option<bool>,
    #[serde(rename = "statusCode")]
    status_code: Option<u16>,
    /// Header names in lower case; each value a string, or an array of them for a
    /// repeated header.
    headers: Option<serde_json::Map<String, serde_json::Value>>,
}

impl TestResult {
    /// The first value of a header, by its lower-case name.
    fn header(&self, name: &str) -> Option<&str> {
        match self.headers.as_ref()?.get(name)? {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Array(a) => a.first()?.as_str(),
            _ => None,
        }
    }
}

enum Poll {
    InProgress,
    /// Boxed: a finished result holds the body.
    Done(Box<ResultItem>),
}

fn parse_measurement(answer: &[u8], id: &str) -> Result<Poll, GlobalpingError> {
    let m: Measurement = serde_json::from_slice(answer).map_err(malformed)?;
    if m.id.as_deref().is_some_and(|got| got != id) {
        return Err(GlobalpingError::Malformed(
            "the answer is about another measurement".into(),
        ));
    }
    if m.kind.as_deref().is_some_and(|k| k != "http") {
        return Err(GlobalpingError::Malformed(format!(
            "measurement type {:?}, not http",
            text::shown(&truncated(m.kind.as_deref().unwrap_or_default()))
        )));
    }
    // "Any value other than `in-progress` is final."
    if m.status == "in-progress" {
        return Ok(Poll::InProgress);
    }
    let mut results = m.results.into_iter();
    match (results.next(), results.next()) {
        (Some(one), None) => Ok(Poll::Done(Box::new(one))),
        (None, _) => Err(GlobalpingError::Malformed(format!(
            "measurement ended ({}) without a result",
            text::shown(&truncated(&m.status))
        ))),
        (Some(_), Some(_)) => Err(GlobalpingError::Malformed(
            "one probe was asked for, several answered".into(),
        )),
    }
}

/// The probe of a result whose test ran the GET (finished, or failed trying), as it
/// describes itself; `None` when it never ran it or its description is off-schema.
fn ran_the_get(item: &ResultItem) -> Option<Probe> {
    matches!(item.result.status.as_str(), "finished" | "failed")
        .then(|| probe_of(&item.probe).ok())
        .flatten()
}

fn probe_of(p: &ProbeLocation) -> Result<Probe, GlobalpingError> {
    let country = p.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(GlobalpingError::Malformed(format!(
            "probe country {:?} is not a two-letter code",
            text::shown(&truncated(&p.country))
        )));
    }
    Ok(Probe {
        country,
        city: p.city.as_deref().map(outside),
        asn: p.asn,
        network: p.network.as_deref().map(outside),
    })
}

fn answer_from(item: ResultItem, asked: &str, limit: u64) -> Result<ProbeAnswer, GlobalpingError> {
    let probe = probe_of(&item.probe)?;
    let r = item.result;
    match r.status.as_str() {
        "finished" => {}
        "failed" => {
            return Err(GlobalpingError::ProbeFailed {
                country: probe.country,
                reason: r
                    .raw_output
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                    .map(outside)
                    .unwrap_or_else(|| "no reason given".into()),
            });
        }
        "offline" => return Err(GlobalpingError::ProbeOffline(asked.to_owned())),
        other => {
            return Err(GlobalpingError::Malformed(format!(
                "the measurement ended with its test {:?}",
                text::shown(&truncated(other))
            )));
        }
    }
    let status = r
        .status_code
        .filter(|s| (100..=999).contains(s))
        .ok_or_else(|| {
            GlobalpingError::Malformed("a finished HTTP test without a status code".into())
        })?;
    // A redirect's body is not the document: only where it points matters.
    if (300..=399).contains(&status) {
        return Ok(ProbeAnswer {
            status,
            location: r.header("location").map(str::to_owned),
            body: Vec::new(),
            probe,
        });
    }
    // `rawBody` is null when the body was empty.
    let text = r.raw_body.unwrap_or_default();
    // Counted as the probe counts, in UTF-16 code units: a complete document of
    // multi-byte characters may hold more bytes than that and still be whole.
    if r.truncated == Some(true) || text.encode_utf16().count() as u64 > MAX_BODY {
        return Err(GlobalpingError::LargerThanGlobalping);
    }
    if text.len() as u64 > limit {
        return Err(GlobalpingError::TooLarge(limit));
    }
    if text.contains('\u{fffd}') {
        return Err(GlobalpingError::NotByteForByte);
    }
    Ok(ProbeAnswer {
        status,
        location: None,
        body: text.into_bytes(),
        probe,
    })
}

/// The API's error answer: `{"error": {"type", "message", "params"?}}`.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
    params: Option<serde_json::Map<String, serde_json::Value>>,
}

fn api_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    answer: &[u8],
    country: &str,
) -> GlobalpingError {
    let parsed: Option<ErrorAnswer> = serde_json::from_slice(answer).ok();
    let kind = parsed.as_ref().and_then(|a| a.error.kind.clone());
    let message = match &parsed {
        Some(a) => {
            let mut m = a.error.message.clone().unwrap_or_default();
            // Validation errors name the offending field in `params`.
            for (k, v) in a.error.params.iter().flatten() {
                let v = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                m.push_str(&format!(" {k}: {v};"));
            }
            outside(m.trim_end_matches(';'))
        }
        None => "no error description".into(),
    };
    let message = if message.is_empty() {
        "no error description".into()
    } else {
        message
    };
    match status {
        429 => {
            let secs = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
            };
            GlobalpingError::RateLimited {
                message,
                retry_after_secs: secs("retry-after").or_else(|| secs("x-ratelimit-reset")),
            }
        }
        422 if kind.as_deref() == Some("no_probes_found") => GlobalpingError::NoProbe {
            country: country.to_owned(),
            message,
        },
        _ => GlobalpingError::Api { status, message },
    }
}

/// Third-party text made safe to show: bounded, on one line, unsafe characters escaped.
fn outside(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    text::shown(&truncated(&one_line)).into_owned()
}

fn truncated(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT_CHARS) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

fn malformed(e: serde_json::Error) -> GlobalpingError {
    GlobalpingError::Malformed(crate::envelope::one_line(&e))
}

fn network(e: reqwest::Error) -> GlobalpingError {
    GlobalpingError::Network(outside(&crate::fetch::error_chain(&e.without_url())))
}

/// The API client of a run, from its options (`--globalping-api`, `GLOBALPING_TOKEN`).
pub fn client(opts: &super::Vantages) -> Result<Globalping, String> {
    let api = opts.globalping_api.as_deref().unwrap_or(DEFAULT_API);
    let api =
        Url::parse(api).map_err(|e| format!("Globalping API URL {:?}: {e}", text::shown(api)))?;
    let client = reqwest::Client::builder()
        .user_agent(crate::fetch::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot set up the Globalping client: {e}"))?;
    Ok(Globalping::new(api, opts.globalping_token.clone(), client))
}

/// Measurements one Globalping vantage has in flight at once: the API meters every
/// measurement, and a sweep must not spend a token's hourly credit in a burst.
pub const IN_FLIGHT: usize = 8;

/// `globalping:CC`: release documents fetched by Globalping's probes in CC, each recorded
/// with the probe that fetched it. Artifacts are out of their reach.
pub struct GlobalpingVantage {
    spec: super::VantageSpec,
    transport: Arc<ProbeTransport>,
}

/// The [`crate::fetch::Transport`] of one Globalping vantage.
pub struct ProbeTransport {
    name: String,
    country: String,
    api: Arc<Globalping>,
    in_flight: tokio::sync::Semaphore,
    /// The probes that answered, per matrix entry.
    probes: std::sync::Mutex<std::collections::BTreeMap<usize, Vec<Probe>>>,
    /// Why the API is not asked again in this run ([`GlobalpingError::repeats`]).
    stopped: std::sync::Mutex<Option<String>>,
}

impl GlobalpingVantage {
    pub fn new(spec: super::VantageSpec, api: Arc<Globalping>) -> GlobalpingVantage {
        let transport = Arc::new(ProbeTransport {
            name: format!("globalping:{}", spec.country),
            country: spec.country.clone(),
            api,
            in_flight: tokio::sync::Semaphore::new(IN_FLIGHT),
            probes: std::sync::Mutex::new(Default::default()),
            stopped: std::sync::Mutex::new(None),
        });
        GlobalpingVantage { spec, transport }
    }
}

impl super::start::Vantage for GlobalpingVantage {
    fn spec(&self) -> &super::VantageSpec {
        &self.spec
    }
    fn route(&self, entry: usize, _mirror_proxy: Option<&str>) -> super::start::EntryRoute {
        super::start::EntryRoute {
            proxy: None,
            route: crate::profile::Route::Via(crate::profile::Via {
                transport: self.transport.clone(),
                entry,
            }),
        }
    }
    fn pins_addresses(&self) -> bool {
        false
    }
    fn artifacts(&self) -> Result<(), &'static str> {
        Err(OUT_OF_REACH)
    }
    fn carried_by(&self, entry: usize) -> Option<super::Carrier> {
        let probes = self.transport.probes.lock().ok()?.get(&entry).cloned()?;
        Some(super::Carrier::Globalping {
            probes,
            first_hand: false,
        })
    }
}

/// Redirects followed for one document, at most: as many as this machine's own client
/// follows, so that a chain is judged the same way from both.
pub const MAX_REDIRECTS: usize = 5;

/// Why artifacts are not checked through Globalping.
pub const OUT_OF_REACH: &str = "Globalping's probes return only the first 10 KB of a body, so artifacts are not checked through them";

impl crate::fetch::Transport for ProbeTransport {
    fn name(&self) -> &str {
        &self.name
    }

    fn get<'a>(
        &'a self,
        entry: usize,
        url: &'a Url,
        limit: u64,
        timeout: Duration,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<u8>, crate::fetch::FetchError>> {
        use crate::fetch::FetchError;
        Box::pin(async move {
            // The deadline starts with the measurement, not with the wait for a slot: a
            // sweep queues far more documents than measurements in flight, and the ones
            // at the back are no later for it. The wait is bounded by the deadlines of
            // those ahead, and by the API being given up on when it fails them all.
            let _turn = self
                .in_flight
                .acquire()
                .await
                .map_err(|_| FetchError::Io("shutting down".into()))?;
            if let Some(why) = self.stopped.lock().ok().and_then(|s| s.clone()) {
                return Err(FetchError::OutOfReach(format!(
                    "not asked: {why} earlier in this run"
                )));
            }
            let started = tokio::time::Instant::now();
            // Probes do not follow redirects; a user's client does, and so does this
            // machine's: each hop is one more measurement, within the same deadline.
            let mut at = url.clone();
            for _ in 0..=MAX_REDIRECTS {
                let left = timeout.saturating_sub(started.elapsed());
                let (result, seen) = self.api.get_seen(&at, &self.country, limit, left).await;
                if let (Some(probe), Ok(mut p)) = (seen, self.probes.lock()) {
                    let recorded = p.entry(entry).or_default();
                    if !recorded.contains(&probe) {
                        recorded.push(probe);
                    }
                }
                if let (Err(e), Ok(mut stopped)) = (&result, self.stopped.lock())
                    && e.repeats()
                    && stopped.is_none()
                {
                    *stopped = Some(e.to_string());
                }
                let answer = match result {
                    // The API places probes by their own account; one elsewhere than asked
                    // does not stand for this country (it is recorded above all the same).
                    Ok(answer) if !answer.probe.country.eq_ignore_ascii_case(&self.country) => {
                        return Err(FetchError::OutOfReach(format!(
                            "the probe that answered reports itself in {}, not {}",
                            text::shown(&answer.probe.country),
                            self.country
                        )));
                    }
                    Ok(answer) => answer,
                    Err(GlobalpingError::TooLarge(n)) => return Err(FetchError::TooLarge(n)),
                    // The probe's view of the mirror; the error names the probe already.
                    Err(e) if !e.is_vantage_fault() => {
                        return Err(FetchError::Network(e.to_string()));
                    }
                    Err(e) => return Err(FetchError::OutOfReach(e.to_string())),
                };
                match (answer.status, &answer.location) {
                    (200..=299, _) => return Ok(answer.body),
                    (404 | 410, _) => return Err(FetchError::NotFound(Some(answer.status))),
                    (300..=399, Some(location)) => {
                        at = at.join(location).map_err(|e| {
                            FetchError::Network(format!(
                                "HTTP status {} to an unusable location {:?}: {e}",
                                answer.status,
                                text::shown(&truncated(location))
                            ))
                        })?;
                    }
                    (s, _) => return Err(FetchError::Status(s)),
                }
            }
            Err(FetchError::Network(format!(
                "more than {MAX_REDIRECTS} redirects, as seen by Globalping probes in {}",
                self.country
            )))
        })
    }

    fn artifacts(&self) -> Result<(), &'static str> {
        Err(OUT_OF_REACH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn request_json(u: &str, cc: &str) -> serde_json::Value {
        serde_json::to_value(measurement_request(&url(u), cc).unwrap()).unwrap()
    }

    #[test]
    fn request_uses_the_schema_field_names() {
        assert_eq!(
            request_json("https://releases.example.org/stable/release.json", "FR"),
            json!({
                "type": "http",
                "target": "releases.example.org",
                "inProgressUpdates": false,
                "locations": [{"country": "FR"}],
                "limit": 1,
                "measurementOptions": {
                    "request": {
                        "method": "GET",
                        "path": "/stable/release.json",
                        "host": "releases.example.org"
                    },
                    "protocol": "HTTPS",
                    "port": 443
                }
            })
        );
    }

    #[test]
    fn request_carries_port_query_and_plain_http() {
        let v = request_json("http://127.0.0.1:8080/a%20b/r.json?x=1&y=2#frag", "DE");
        assert_eq!(v["target"], "127.0.0.1");
        let o = &v["measurementOptions"];
        assert_eq!(o["protocol"], "HTTP");
        assert_eq!(o["port"], 8080);
        assert_eq!(o["request"]["path"], "/a%20b/r.json");
        assert_eq!(o["request"]["query"], "x=1&y=2");
        // An IP literal is not a domain: no `host`, which the schema would refuse.
        assert!(o["request"].get("host").is_none());
    }

    #[test]
    fn request_for_ipv6_names_the_bare_address() {
        let v = request_json("http://[2001:db8::1]/r.json?", "NL");
        assert_eq!(v["target"], "2001:db8::1");
        assert_eq!(v["measurementOptions"]["port"], 80);
        assert!(v["measurementOptions"]["request"].get("query").is_none());
    }

    #[test]
    fn only_http_urls_without_credentials() {
        for bad in [
            "ftp://example.org/r.json",
            "file:///srv/mirror/r.json",
            "https://user:secret@example.org/r.json",
        ] {
            let e = measurement_request(&url(bad), "FR").unwrap_err();
            assert!(
                matches!(e, GlobalpingError::UnsupportedUrl(_)),
                "{bad}: {e}"
            );
            assert!(!e.to_string().contains('\n'));
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn country_codes_are_checked_and_upper_cased() {
        assert_eq!(country_code("fr").unwrap(), "FR");
        assert_eq!(country_code(" de ").unwrap(), "DE");
        for bad in ["France", "ZZ", "XX", "", "F"] {
            assert!(
                matches!(country_code(bad), Err(GlobalpingError::BadCountry(_))),
                "{bad}"
            );
        }
    }

    /// The schema's `getHttpMeasurementResponse` example, body and headers shortened.
    const FINISHED: &str = r#"{
      "id": "9J2BCohDSuxoiaOD",
      "type": "http",
      "status": "finished",
      "createdAt": "2023-07-14T18:34:05.161Z",
      "updatedAt": "2023-07-14T18:34:06.310Z",
      "target": "cdn.jsdelivr.net",
      "probesCount": 1,
      "measurementOptions": { "request": { "method": "GET", "path": "/npm/jquery" } },
      "results": [
        {
          "probe": {
            "continent": "AS", "region": "Eastern Asia", "country": "KR", "state": null,
            "city": "Seoul", "asn": 40676, "longitude": 126.977207, "latitude": 37.566309,
            "network": "Psychz Networks", "tags": ["datacenter-network"],
            "resolvers": ["8.8.8.8", "8.8.4.4"]
          },
          "result": {
            "status": "finished",
            "resolvedAddress": "104.16.88.20",
            "headers": { "content-type": "application/javascript; charset=utf-8" },
            "rawHeaders": "Content-Type: application/javascript; charset=utf-8",
            "rawBody": "/*! jQuery v3.7.0 */\n!function(e,t){\"use strict\"}",
            "rawOutput": "HTTP/1.1 200\nContent-Type: application/javascript\n\n/*! jQuery v3.7.0 */",
            "truncated": false,
            "statusCode": 200,
            "statusCodeName": "OK",
            "timings": { "total": 325, "download": 1, "firstByte": 219, "dns": 37, "tls": 36, "tcp": 32 },
            "tls": null
          }
        }
      ]
    }"#;

    fn done(answer: &str) -> ResultItem {
        match parse_measurement(answer.as_bytes(), "9J2BCohDSuxoiaOD").unwrap() {
            Poll::Done(r) => *r,
            Poll::InProgress => panic!("in progress"),
        }
    }

    #[test]
    fn finished_example_gives_body_status_and_the_probes_own_place() {
        let a = answer_from(done(FINISHED), "KR", 10_000).unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(
            a.body,
            b"/*! jQuery v3.7.0 */\n!function(e,t){\"use strict\"}"
        );
        assert_eq!(
            a.probe,
            Probe {
                country: "KR".into(),
                city: Some("Seoul".into()),
                asn: Some(40676),
                network: Some("Psychz Networks".into()),
            }
        );
        // The probe's place is reported, whatever was asked.
        let b = answer_from(done(FINISHED), "JP", 10_000).unwrap();
        assert_eq!(b.probe.country, "KR");
    }

    #[test]
    fn in_progress_is_not_final_and_anything_else_is() {
        let p = r#"{"id":"9J2BCohDSuxoiaOD","type":"http","status":"in-progress","results":[
            {"probe":{"country":"FR","city":"Paris","asn":3215,"network":"Orange"},
             "result":{"status":"in-progress","rawOutput":""}}]}"#;
        assert!(matches!(
            parse_measurement(p.as_bytes(), "9J2BCohDSuxoiaOD").unwrap(),
            Poll::InProgress
        ));
        let other = FINISHED.replace(
            "\"status\": \"finished\",\n      \"createdAt\"",
            "\"status\": \"timed-out\",\n      \"createdAt\"",
        );
        assert_ne!(other, FINISHED);
        assert!(matches!(
            parse_measurement(other.as_bytes(), "9J2BCohDSuxoiaOD").unwrap(),
            Poll::Done(_)
        ));
    }

    #[test]
    fn truncated_or_oversized_bodies_are_globalpings_limit_not_the_mirrors() {
        let t = FINISHED.replace("\"truncated\": false", "\"truncated\": true");
        let e = answer_from(done(&t), "KR", 10_000).unwrap_err();
        assert!(matches!(e, GlobalpingError::LargerThanGlobalping));
        assert!(e.is_vantage_fault());
        assert!(e.to_string().contains("larger than Globalping returns"));
        assert!(!e.to_string().contains("invalid"));

        let long = "a".repeat(10_001);
        let l = FINISHED.replace(
            r#""rawBody": "/*! jQuery v3.7.0 */\n!function(e,t){\"use strict\"}""#,
            &format!(r#""rawBody": "{long}""#),
        );
        assert_ne!(l, FINISHED);
        assert!(matches!(
            answer_from(done(&l), "KR", 1 << 20),
            Err(GlobalpingError::LargerThanGlobalping)
        ));
        // Within Globalping's reach but over the caller's own limit.
        let e = answer_from(done(FINISHED), "KR", 10).unwrap_err();
        assert!(matches!(e, GlobalpingError::TooLarge(10)));
        assert!(!e.is_vantage_fault());
    }

    #[test]
    fn the_limit_counts_characters_as_the_probe_does_not_bytes() {
        let whole = "é".repeat(6_000);
        let r = FINISHED.replace(
            r#""rawBody": "/*! jQuery v3.7.0 */\n!function(e,t){\"use strict\"}""#,
            &format!(r#""rawBody": "{whole}""#),
        );
        assert_ne!(r, FINISHED);
        assert_eq!(
            answer_from(done(&r), "KR", 1 << 20).unwrap().body,
            whole.as_bytes()
        );
        // Over the caller's own limit in bytes, though within Globalping's characters.
        assert!(matches!(
            answer_from(done(&r), "KR", 11_000),
            Err(GlobalpingError::TooLarge(11_000))
        ));
    }

    #[test]
    fn null_body_is_empty_and_replacement_characters_are_refused() {
        let n = FINISHED.replace(
            r#""rawBody": "/*! jQuery v3.7.0 */\n!function(e,t){\"use strict\"}""#,
            r#""rawBody": null"#,
        );
        assert_eq!(answer_from(done(&n), "KR", 10_000).unwrap().body, b"");
        let bin = FINISHED.replace("jQuery v3.7.0 */", "jQuery \u{fffd}\u{fffd} */");
        let e = answer_from(done(&bin), "KR", 10_000).unwrap_err();
        assert!(matches!(e, GlobalpingError::NotByteForByte));
        assert!(e.is_vantage_fault());
    }

    #[test]
    fn failed_test_is_the_probes_view_of_the_mirror() {
        let f = r#"{"id":"9J2BCohDSuxoiaOD","type":"http","status":"finished","results":[
            {"probe":{"country":"FR","city":"Paris","asn":3215,"network":"Orange"},
             "result":{"status":"failed","rawOutput":"connect ECONNREFUSED 192.0.2.7:443\u001b[2J",
                       "rawBody":null,"truncated":false,"statusCode":null}}]}"#;
        let e = answer_from(done(f), "FR", 10_000).unwrap_err();
        let GlobalpingError::ProbeFailed { country, reason } = &e else {
            panic!("{e}");
        };
        assert_eq!(country, "FR");
        assert!(reason.contains("ECONNREFUSED"));
        assert!(
            !reason.contains('\u{1b}'),
            "escape reaches the terminal: {reason}"
        );
        assert!(!e.is_vantage_fault());
    }

    #[test]
    fn a_redirect_comes_back_with_where_it_points_and_no_body() {
        let r = FINISHED
            .replace("\"statusCode\": 200", "\"statusCode\": 302")
            .replace(
                "\"headers\": { \"content-type\": \"application/javascript; charset=utf-8\" }",
                "\"headers\": { \"location\": [\"/npm/jquery@3\", \"/other\"] }",
            );
        assert!(r.contains("302") && r.contains("/npm/jquery@3"));
        let a = answer_from(done(&r), "KR", 10_000).unwrap();
        assert_eq!(a.status, 302);
        assert_eq!(a.location.as_deref(), Some("/npm/jquery@3"));
        assert!(a.body.is_empty());
        // Not a redirect: no location, whatever the headers say.
        let ok = FINISHED.replace(
            "\"content-type\": \"application/javascript; charset=utf-8\"",
            "\"location\": \"/elsewhere\"",
        );
        assert_eq!(answer_from(done(&ok), "KR", 10_000).unwrap().location, None);
    }

    #[test]
    fn what_repeats_for_every_request_and_what_is_one_documents() {
        let timeout = |during: &str| GlobalpingError::Timeout {
            after: Duration::from_secs(1),
            during: during.into(),
        };
        let api = |status| GlobalpingError::Api {
            status,
            message: String::new(),
        };
        for e in [
            timeout(CREATING),
            api(503),
            api(401),
            GlobalpingError::Network("connection refused".into()),
            GlobalpingError::NoProbe {
                country: "JP".into(),
                message: String::new(),
            },
        ] {
            assert!(e.repeats(), "{e}");
        }
        for e in [
            timeout("measurement x still in progress after 3 polls"),
            api(400),
            api(422),
            GlobalpingError::LargerThanGlobalping,
            GlobalpingError::ProbeOffline("FR".into()),
            GlobalpingError::UnsupportedUrl("ftp://x".into()),
        ] {
            assert!(!e.repeats(), "{e}");
        }
    }

    #[test]
    fn the_probe_that_ran_the_get_is_known_whatever_came_of_it() {
        let failed = r#"{"id":"9J2BCohDSuxoiaOD","type":"http","status":"finished","results":[
            {"probe":{"country":"fr","city":"Paris","asn":3215,"network":"Orange"},
             "result":{"status":"failed","rawOutput":"connect ECONNREFUSED 192.0.2.7:80"}}]}"#;
        let p = ran_the_get(&done(failed)).unwrap();
        assert_eq!((p.country.as_str(), p.asn), ("FR", Some(3215)));
        let t = FINISHED.replace("\"truncated\": false", "\"truncated\": true");
        assert_eq!(ran_the_get(&done(&t)).unwrap().country, "KR");
        // A probe that went offline ran nothing; one that cannot say where it is, is nobody.
        let offline = failed.replace("\"status\":\"failed\"", "\"status\":\"offline\"");
        assert_ne!(offline, failed);
        assert_eq!(ran_the_get(&done(&offline)), None);
        let nowhere = failed.replace("\"country\":\"fr\"", "\"country\":\"France\"");
        assert_ne!(nowhere, failed);
        assert_eq!(ran_the_get(&done(&nowhere)), None);
    }

    #[test]
    fn off_schema_answers_are_malformed_not_panics() {
        let id = "9J2BCohDSuxoiaOD";
        for bad in [
            "",
            "[]",
            r#"{"status": 3}"#,
            r#"{"id":"other","status":"finished","results":[]}"#,
            r#"{"type":"ping","status":"finished","results":[]}"#,
            r#"{"status":"finished","results":[]}"#,
        ] {
            assert!(
                matches!(
                    parse_measurement(bad.as_bytes(), id),
                    Err(GlobalpingError::Malformed(_))
                ),
                "{bad}"
            );
        }
        // A repeated field could be read two ways; serde refuses it.
        let dup = FINISHED.replace(
            "\"type\": \"http\",",
            "\"type\": \"http\", \"status\": \"in-progress\",",
        );
        assert_ne!(dup, FINISHED);
        let e = parse_measurement(dup.as_bytes(), id).err().unwrap();
        assert!(e.to_string().contains("duplicate field"), "{e}");
        let two = FINISHED.replace(
            "\"results\": [",
            "\"results\": [{\"probe\":{\"country\":\"FR\"},\"result\":{\"status\":\"finished\"}},",
        );
        assert!(matches!(
            parse_measurement(two.as_bytes(), id),
            Err(GlobalpingError::Malformed(_))
        ));
        let no_code = FINISHED.replace("\"statusCode\": 200", "\"statusCode\": null");
        assert!(matches!(
            answer_from(done(&no_code), "KR", 10_000),
            Err(GlobalpingError::Malformed(_))
        ));
        let bad_country = FINISHED.replace("\"country\": \"KR\"", "\"country\": \"Korea\"");
        assert!(matches!(
            answer_from(done(&bad_country), "KR", 10_000),
            Err(GlobalpingError::Malformed(_))
        ));
    }

    #[test]
    fn created_example_and_hostile_ids() {
        assert_eq!(
            parse_created(br#"{"id": "PY5fMsREMmIq45VR", "probesCount": 1}"#).unwrap(),
            "PY5fMsREMmIq45VR"
        );
        for bad in [
            r#"{"id": ""}"#,
            r#"{"id": "a\u001b[2Jb"}"#,
            r#"{"probesCount": 1}"#,
        ] {
            assert!(
                matches!(
                    parse_created(bad.as_bytes()),
                    Err(GlobalpingError::Malformed(_))
                ),
                "{bad}"
            );
        }
        let long = format!(r#"{{"id": "{}"}}"#, "a".repeat(MAX_ID_CHARS + 1));
        assert!(parse_created(long.as_bytes()).is_err());
    }

    #[test]
    fn error_examples_from_the_schema_map_to_clear_errors() {
        let none = reqwest::header::HeaderMap::new();
        let e = api_error(
            422,
            &none,
            br#"{"error":{"type":"no_probes_found","message":"No suitable probes found."}}"#,
            "JP",
        );
        assert!(matches!(&e, GlobalpingError::NoProbe { country, .. } if country == "JP"));
        assert_eq!(
            e.to_string(),
            "Globalping has no probe in JP right now: No suitable probes found."
        );

        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ratelimit-reset", HeaderValue::from_static("42"));
        let e = api_error(
            429,
            &h,
            br#"{"error":{"type":"rate_limit_exceeded","message":"API rate limit exceeded."}}"#,
            "FR",
        );
        assert!(matches!(
            e,
            GlobalpingError::RateLimited {
                retry_after_secs: Some(42),
                ..
            }
        ));
        assert!(e.to_string().contains("HTTP 429, retry in 42 s"), "{e}");

        let e = api_error(
            400,
            &none,
            br#"{"error":{"type":"validation_error","message":"Parameter validation failed.","params":{"measurement":"\"measurement\" does not match any of the allowed types"}}}"#,
            "FR",
        );
        assert_eq!(
            e.to_string(),
            "the Globalping API answered HTTP 400: Parameter validation failed. measurement: \"measurement\" does not match any of the allowed types"
        );

        let e = api_error(502, &none, b"<html>\x1b[31mbad gateway</html>", "FR");
        assert_eq!(
            e.to_string(),
            "the Globalping API answered HTTP 502: no error description"
        );
    }

    #[test]
    fn endpoints_append_to_the_api_path_and_escape_the_id() {
        let g = Globalping::new(
            url("http://127.0.0.1:9/prefix?x=1"),
            None,
            reqwest::Client::new(),
        );
        assert_eq!(
            g.endpoint(&[]).unwrap().as_str(),
            "http://127.0.0.1:9/prefix/v1/measurements"
        );
        assert_eq!(
            g.endpoint(&["a/../b?c"]).unwrap().as_str(),
            "http://127.0.0.1:9/prefix/v1/measurements/a%2F..%2Fb%3Fc"
        );
        let g = Globalping::new(url(DEFAULT_API), None, reqwest::Client::new());
        assert_eq!(
            g.endpoint(&["PY5fMsREMmIq45VR"]).unwrap().as_str(),
            "https://api.globalping.io/v1/measurements/PY5fMsREMmIq45VR"
        );
    }

    #[test]
    fn token_is_a_sensitive_bearer_header_and_never_debug_printed() {
        let g = Globalping::new(
            url(DEFAULT_API),
            Some("s3cret-token".into()),
            reqwest::Client::new(),
        );
        let h = g.authorization().unwrap().unwrap();
        assert_eq!(h.to_str().unwrap(), "Bearer s3cret-token");
        assert!(h.is_sensitive());
        assert!(!format!("{g:?}").contains("s3cret"));
        let bad = Globalping::new(
            url(DEFAULT_API),
            Some("a\nb".into()),
            reqwest::Client::new(),
        );
        assert!(matches!(
            bad.authorization(),
            Err(GlobalpingError::BadToken)
        ));
    }
}
